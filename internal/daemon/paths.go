// Package daemon holds the process-level helpers behind the OVS daemon
// options: --pidfile[=FILE], --log-file[=FILE] and --unixctl=SOCKET, with
// OVS's default locations and its pidfile locking, so that ovs-appctl and
// ovn-ctl style scripts can find and stop us as they do the C daemons.
package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultRundir returns the run directory for pidfiles and control
// sockets: $OVN_RUNDIR, else $OVS_RUNDIR, else /var/run/ovn. Empty variables
// count as unset.
func DefaultRundir() string {
	return firstEnv("/var/run/ovn", "OVN_RUNDIR", "OVS_RUNDIR")
}

// DefaultLogdir returns the log directory: $OVN_LOGDIR, else $OVS_LOGDIR,
// else /var/log/ovn. Empty variables count as unset.
func DefaultLogdir() string {
	return firstEnv("/var/log/ovn", "OVN_LOGDIR", "OVS_LOGDIR")
}

func firstEnv(def string, names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return def
}

// PidfilePath resolves an OVS --pidfile[=FILE] option. value is FILE, or
// "" for a bare --pidfile, which means <rundir>/<program>.pid. A relative
// FILE is taken relative to the run directory, not the working directory.
func PidfilePath(value, program string) string {
	if value == "" {
		return filepath.Join(DefaultRundir(), program+".pid")
	}
	return absFileName(DefaultRundir(), value)
}

// LogFilePath resolves an OVS --log-file[=FILE] option. value is FILE, or
// "" for a bare --log-file, which means <logdir>/<program>.log. Unlike the
// pidfile, OVS opens a relative FILE relative to the working directory, so
// it is returned as given.
func LogFilePath(value, program string) string {
	if value == "" {
		return filepath.Join(DefaultLogdir(), program+".log")
	}
	return value
}

// CtlPath resolves an OVS --unixctl=SOCKET option. value is SOCKET, or ""
// when the option is absent, which means DefaultCtlPath(program, pid). A
// relative SOCKET is taken relative to the run directory. (OVS's
// --unixctl=none, meaning no socket at all, is for the caller to handle.)
func CtlPath(value, program string, pid int) string {
	if value == "" {
		return DefaultCtlPath(program, pid)
	}
	return absFileName(DefaultRundir(), value)
}

// DefaultCtlPath returns <rundir>/<program>.<pid>.ctl, where OVS daemons
// put their control socket and where "ovs-appctl -t <program>" looks for it
// after reading <program>.pid.
func DefaultCtlPath(program string, pid int) string {
	return filepath.Join(DefaultRundir(), fmt.Sprintf("%s.%d.ctl", program, pid))
}

// absFileName is OVS's abs_file_name: name if absolute, else dir/name.
func absFileName(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}
