package testbed

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{
			name: "ovsdb-server",
			in:   "1234 (ovsdb-server) S 1 1234 1234 0 -1 4194560 500 0 0 0 17 4 0 0 20 0 1 0 999 10000000 1500 18446744073709551615\n",
			want: procStat{comm: "ovsdb-server", state: 'S', ppid: 1, utime: 17, stime: 4},
		},
		{
			name: "comm with spaces and parentheses",
			in:   "77 (a (b) c) R 76 77 77 0 -1 0 0 0 0 0 300 200 0 0 20 0 1 0",
			want: procStat{comm: "a (b) c", state: 'R', ppid: 76, utime: 300, stime: 200},
		},
		{name: "empty", in: "", wantErr: true},
		{name: "no comm", in: "1 S 0 0", wantErr: true},
		{name: "truncated", in: "1 (x) S 0 0 0", wantErr: true},
		{name: "bad utime", in: "1 (x) S 0 0 0 0 0 0 0 0 0 0 x 1 0", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStat() error = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(procStat{})); diff != "" {
					t.Errorf("parseStat() mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    MemStats
		wantErr bool
	}{
		{
			name: "normal",
			in:   "Name:\tovn-controller-\nVmPeak:\t  20000 kB\nVmHWM:\t    6800 kB\nVmRSS:\t    6600 kB\nThreads:\t1\n",
			want: MemStats{RSS: 6600 * 1024, HWM: 6800 * 1024},
		},
		{name: "kernel thread", in: "Name:\tkthreadd\nState:\tS (sleeping)\n", wantErr: true},
		{name: "bad unit", in: "VmHWM:\t1 MB\nVmRSS:\t1 kB\n", wantErr: true},
		{name: "bad number", in: "VmHWM:\tx kB\nVmRSS:\t1 kB\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatus() error = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("parseStatus() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseProcNetTCP(t *testing.T) {
	t.Parallel()
	lo := hostOrderHex([4]byte{127, 0, 0, 1})
	in := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 637 1 0 100 0 0 10 0\n" +
		"   1: " + lo + ":A90F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8888 1 0 100 0 0 10 0\n" +
		"   2: " + lo + ":A910 " + lo + ":1234 01 00000000:00000000 00:00000000 00000000     0        0 8889 1 0 100 0 0 10 0\n"
	got, err := parseProcNetTCP([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []tcpSocket{
		{port: 2024, loopback: false, listen: true, inode: 637},
		{port: 43279, loopback: true, listen: true, inode: 8888},
		{port: 43280, loopback: true, listen: false, inode: 8889},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tcpSocket{})); diff != "" {
		t.Errorf("parseProcNetTCP() mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "garbage\n", "local_address\n 0: zz:1 x 0A a b c d e 1\n", "local_address\n 0: 0100007F:ZZZZ x 0A a b c d e 1\n"} {
		if _, err := parseProcNetTCP([]byte(bad)); err == nil {
			t.Errorf("parseProcNetTCP(%q) succeeded", bad)
		}
	}
}

func TestParseAuxvClkTck(t *testing.T) {
	t.Parallel()
	aux := func(pairs ...uint64) []byte {
		b := make([]byte, 8*len(pairs))
		for i, v := range pairs {
			binary.NativeEndian.PutUint64(b[8*i:], v)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want uint64
	}{
		{"present", aux(6, 4096, 17, 100, 0, 0), 100},
		{"after null", aux(0, 0, 17, 100), 0},
		{"absent", aux(6, 4096, 0, 0), 0},
		{"short", []byte{1, 2, 3}, 0},
	} {
		if got := parseAuxvClkTck(tc.in); got != tc.want {
			t.Errorf("%s: parseAuxvClkTck() = %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := ticksToDuration(250, 100); got != 2500*time.Millisecond {
		t.Errorf("ticksToDuration(250, 100) = %v", got)
	}
}

func TestProcErrorsWrap(t *testing.T) {
	t.Parallel()
	_, err := parseStat([]byte("1 (x) S"))
	if !errors.Is(err, errBadProcFile) {
		t.Errorf("parseStat error %v does not wrap errBadProcFile", err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (ovsdb-server) S 1 1234 1234 0 -1 4194560 500 0 0 0 17 4 0 0 20 0 1 0 999"))
	f.Add([]byte("1 ((() R 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseStat(data)
	})
}

func FuzzParseProcNetTCP(f *testing.F) {
	f.Add([]byte("sl local_address\n 0: 0100007F:A90F 00000000:0000 0A 0:0 0:0 0 0 0 8888\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, err := parseProcNetTCP(data)
		if err == nil {
			for _, s := range socks {
				if s.port < 0 || s.port > 65535 {
					t.Fatalf("port %d out of range", s.port)
				}
			}
		}
	})
}
