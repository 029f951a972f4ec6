package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteSection(t *testing.T) {
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
				if err := writeSection(f, title, title+"\nnew\n"); err != nil {
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
