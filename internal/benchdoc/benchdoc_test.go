package benchdoc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteSectionAndReport(t *testing.T) {
	f := filepath.Join(t.TempDir(), "b.md")
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"append to a missing file", func() error { return WriteSection(f, "## A", "## A\n\na1\n") },
			"# vtepgw benchmarks\n\n## A\n\na1\n"},
		{"append another", func() error { return WriteSection(f, "## B", "## B\n\nb1\n") },
			"# vtepgw benchmarks\n\n## A\n\na1\n\n## B\n\nb1\n"},
		{"replace in place", func() error { return WriteSection(f, "## A", "## A\n\na2\n") },
			"# vtepgw benchmarks\n\n## A\n\na2\n\n## B\n\nb1\n"},
		{"replace a legacy section too", func() error { return WriteSection(f, "## C", "## C\n\nc1\n", "## A") },
			"# vtepgw benchmarks\n\n## B\n\nb1\n\n## C\n\nc1\n"},
		{"whole report keeps the others", func() error {
			return WriteReport(f, "# Main\n\n## Results\n\nr\n\n## B\n\nmine\n", []string{"## Results", "## B"})
		}, "# Main\n\n## Results\n\nr\n\n## B\n\nmine\n\n## C\n\nc1\n"},
		{"report again", func() error { return WriteReport(f, "# Main\n\n## Results\n\nr2\n", []string{"## Results", "## B"}) },
			"# Main\n\n## Results\n\nr2\n\n## C\n\nc1\n"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != s.want {
			t.Fatalf("%s:\n got %q\nwant %q", s.name, got, s.want)
		}
	}
}

func TestWriteSectionCases(t *testing.T) {
	const title = "## vtepsim section"
	tests := []struct{ name, before, want string }{
		{"new file", "", "# vtepgw benchmarks\n\n## vtepsim section\nnew\n"},
		{"appended", "# B\n\n## other\nx\n", "# B\n\n## other\nx\n\n## vtepsim section\nnew\n"},
		{"replaced in the middle", "# B\n\n## vtepsim section\nold\n### sub\nold\n\n## other\nx\n",
			"# B\n\n## vtepsim section\nnew\n\n## other\nx\n"},
		{"replaced at the end", "# B\n\n## other\nx\n\n## vtepsim section\nold\n", "# B\n\n## other\nx\n\n## vtepsim section\nnew\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "B.md")
			if tt.before != "" {
				if err := os.WriteFile(f, []byte(tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 { // idempotent
				if err := WriteSection(f, title, title+"\nnew\n"); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := os.ReadFile(f)
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
