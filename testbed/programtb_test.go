package testbed

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func TestProgramTB(t *testing.T) {
	tb := NewProgramTB("x", "tbtest", false, false)
	var order []int
	var dir string
	err := tb.Run(func() error {
		dir = tb.TempDir()
		tb.Cleanup(func() { order = append(order, 1) })
		tb.Cleanup(func() { order = append(order, 2) })
		tb.Fatalf("stop %d", 7)
		return nil
	})
	if f, ok := errors.AsType[*TBFatal](err); !ok || f.Msg != "stop 7" {
		t.Fatalf("Run = %v, want the Fatal message", err)
	}
	if !tb.Failed() || !slices.Equal(order, []int{2, 1}) {
		t.Errorf("failed %v, cleanups ran %v", tb.Failed(), order)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s left behind: %v", dir, err)
	}
	ok := NewProgramTB("y", "tbtest", false, false)
	if err := ok.Run(func() error { return nil }); err != nil || ok.Failed() {
		t.Errorf("Run = %v, failed %v", err, ok.Failed())
	}
}

func TestDescribeMachine(t *testing.T) {
	m := DescribeMachine()
	if m.CPUs < 1 || m.Go == "" {
		t.Errorf("%+v", m)
	}
	if ProcField("/nonexistent", "x") != "?" {
		t.Error("ProcField of a missing file is not ?")
	}
}
