// Package benchdoc writes benchmark reports into a shared Markdown file:
// docs/BENCHMARKS.md is written by several benchmark programs, each owning
// some "## " sections of it, and each rewrites its own sections and keeps
// everybody else's.
package benchdoc

import (
	"os"
	"slices"
	"strings"
)

// Sections splits Markdown text into its preamble (before the first "## "
// heading) and its "## " sections, each from its heading line up to the
// next one.
func Sections(text string) (preamble string, sections []string) {
	idx := []int{}
	if strings.HasPrefix(text, "## ") {
		idx = append(idx, 0)
	}
	for i := 0; ; {
		j := strings.Index(text[i:], "\n## ")
		if j < 0 {
			break
		}
		idx = append(idx, i+j+1)
		i += j + 1
	}
	if len(idx) == 0 {
		return text, nil
	}
	preamble = text[:idx[0]]
	for k, start := range idx {
		end := len(text)
		if k+1 < len(idx) {
			end = idx[k+1]
		}
		sections = append(sections, text[start:end])
	}
	return preamble, sections
}

func heading(section string) string {
	line, _, _ := strings.Cut(section, "\n")
	return strings.TrimSpace(line)
}

// WriteSection replaces the section headed title in file with section (which
// starts with that heading), or appends it, keeping the rest of the file.
// A missing file is created with a top-level title.
func WriteSection(file, title, section string, also ...string) error {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	if text == "" {
		text = "# vtepgw benchmarks\n\n"
	}
	pre, secs := Sections(text)
	section = strings.TrimRight(section, "\n") + "\n\n"
	replaced := false
	var out []string
	for _, s := range secs {
		h := heading(s)
		switch {
		case h == title && !replaced:
			out = append(out, section)
			replaced = true
		case h == title || slices.Contains(also, h):
			// a duplicate, or a section this one replaces: dropped
		default:
			out = append(out, s)
		}
	}
	if !replaced {
		if n := len(out); n > 0 {
			out[n-1] = strings.TrimRight(out[n-1], "\n") + "\n\n"
		} else {
			pre = strings.TrimRight(pre, "\n") + "\n\n"
		}
		out = append(out, section)
	}
	return os.WriteFile(file, []byte(strings.TrimRight(pre+strings.Join(out, ""), "\n")+"\n"), 0o644)
}

// WriteReport writes report (a whole Markdown document whose own sections
// are headed by the lines in own) to file, followed by every other "## "
// section file already holds.
func WriteReport(file, report string, own []string) error {
	var keep []string
	if old, err := os.ReadFile(file); err == nil {
		_, secs := Sections(string(old))
		for _, s := range secs {
			if !slices.Contains(own, heading(s)) {
				keep = append(keep, s)
			}
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	text := strings.TrimRight(report, "\n") + "\n"
	if len(keep) > 0 {
		text += "\n" + strings.TrimRight(strings.Join(keep, ""), "\n") + "\n"
	}
	return os.WriteFile(file, []byte(text), 0o644)
}
