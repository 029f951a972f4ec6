package testbed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Names of the programs the testbed runs, for Require and Lookup.
const (
	BinOVSDBServer    = "ovsdb-server"
	BinOVSDBTool      = "ovsdb-tool"
	BinOVSDBClient    = "ovsdb-client"
	BinVswitchd       = "ovs-vswitchd"
	BinVsctl          = "ovs-vsctl"
	BinOfctl          = "ovs-ofctl"
	BinAppctl         = "ovs-appctl"
	BinVtepctl        = "vtep-ctl"
	BinNorthd         = "ovn-northd"
	BinNBctl          = "ovn-nbctl"
	BinSBctl          = "ovn-sbctl"
	BinControllerVTEP = "ovn-controller-vtep"
	BinOVSVTEP        = "ovs-vtep"
	BinPython         = "python3" // the python that runs ovs-vtep; it must import ovs
)

// Schemas shipped by the Debian packages.
const (
	VTEPSchema    = "/usr/share/openvswitch/vtep.ovsschema"
	VswitchSchema = "/usr/share/openvswitch/vswitch.ovsschema"
	NBSchema      = "/usr/share/ovn/ovn-nb.ovsschema"
	SBSchema      = "/usr/share/ovn/ovn-sb.ovsschema"
)

const (
	defaultPython  = "/usr/bin/python3"
	ovsScriptsDir  = "/usr/share/openvswitch/scripts"
	envRequireReal = "VTEPGW_REQUIRE_REAL"
	envSearchPath  = "VTEPGW_TESTBED_PATH"
	envPython      = "VTEPGW_TESTBED_PYTHON"
	installHint    = "install them with `make test` (runs hack/install-deps.sh) or `sudo hack/install-deps.sh`"
)

// AllBinaries lists every program Require checks when called with no names.
var AllBinaries = []string{
	BinOVSDBServer, BinOVSDBTool, BinOVSDBClient, BinVswitchd, BinVsctl,
	BinOfctl, BinAppctl, BinVtepctl, BinNorthd, BinNBctl, BinSBctl,
	BinControllerVTEP, BinOVSVTEP, BinPython,
}

// ErrNotInstalled is wrapped by Lookup when a program cannot be found.
var ErrNotInstalled = errors.New("not installed")

var lookupCache sync.Map // name -> lookupResult

type lookupResult struct {
	path string
	err  error
}

// Lookup returns the absolute path of a testbed program (one of the Bin*
// names). The result is cached for the life of the process.
func Lookup(name string) (string, error) {
	if v, ok := lookupCache.Load(name); ok {
		r := v.(lookupResult)
		return r.path, r.err
	}
	p, err := lookup(name, os.Getenv(envSearchPath), os.Getenv("PATH"))
	lookupCache.Store(name, lookupResult{p, err})
	return p, err
}

func lookup(name, extra, path string) (string, error) {
	if name == BinPython {
		p := defaultPython
		if v := os.Getenv(envPython); v != "" {
			p = v
		}
		if err := isExecutable(p); err != nil {
			return "", fmt.Errorf("%s for ovs-vtep (%s): %w", name, p, err)
		}
		return p, nil
	}
	var dirs []string
	dirs = append(dirs, filepath.SplitList(extra)...)
	if name != BinOVSVTEP {
		// ovs-vtep is a python script; the one on PATH (if any) is not the
		// point, the packaged one is.
		dirs = append(dirs, filepath.SplitList(path)...)
	}
	dirs = append(dirs, "/usr/sbin", "/usr/bin", "/sbin", "/bin")
	if name == BinOVSVTEP {
		dirs = append(dirs, ovsScriptsDir)
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if isExecutable(p) == nil {
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w (searched $%s, $PATH, /usr/sbin, /usr/bin, %s)", name, ErrNotInstalled, envSearchPath, ovsScriptsDir)
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: %w", p, fs.ErrPermission)
	}
	return nil
}

// Require checks that the named programs (all of AllBinaries when none are
// given) are installed. When one is missing it fails the test if
// VTEPGW_REQUIRE_REAL=1 and skips it otherwise, with an install hint.
func Require(t testing.TB, names ...string) {
	t.Helper()
	if len(names) == 0 {
		names = AllBinaries
	}
	var missing []string
	for _, n := range names {
		if _, err := Lookup(n); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("testbed: missing programs: %s; %s", strings.Join(missing, "; "), installHint)
	if os.Getenv(envRequireReal) == "1" {
		t.Fatal(msg + " (" + envRequireReal + "=1)")
	}
	t.Skip(msg)
}

// binDirs returns the extra directories to put in front of PATH for
// children, so programs they spawn themselves (ovs-vtep runs ovs-vsctl,
// ovs-ofctl and vtep-ctl from PATH) resolve like ours.
func binDirs() []string {
	var dirs []string
	for _, n := range []string{BinVsctl, BinOfctl, BinVtepctl, BinAppctl} {
		if p, err := Lookup(n); err == nil {
			d := filepath.Dir(p)
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}
