package daemon_test

import (
	"testing"

	"github.com/vtepgw/vtepgw/internal/daemon"
)

func TestPaths(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string // OVN_RUNDIR, OVS_RUNDIR, OVN_LOGDIR, OVS_LOGDIR; unset if absent
		got  func() string
		want string
	}{
		{name: "rundir default", got: daemon.DefaultRundir, want: "/var/run/ovn"},
		{name: "rundir from OVS_RUNDIR", env: map[string]string{"OVS_RUNDIR": "/ovs"}, got: daemon.DefaultRundir, want: "/ovs"},
		{name: "OVN_RUNDIR wins", env: map[string]string{"OVN_RUNDIR": "/ovn", "OVS_RUNDIR": "/ovs"}, got: daemon.DefaultRundir, want: "/ovn"},
		{name: "empty OVN_RUNDIR is unset", env: map[string]string{"OVN_RUNDIR": "", "OVS_RUNDIR": "/ovs"}, got: daemon.DefaultRundir, want: "/ovs"},
		{name: "logdir default", got: daemon.DefaultLogdir, want: "/var/log/ovn"},
		{name: "logdir from OVS_LOGDIR", env: map[string]string{"OVS_LOGDIR": "/ovsl"}, got: daemon.DefaultLogdir, want: "/ovsl"},
		{name: "OVN_LOGDIR wins", env: map[string]string{"OVN_LOGDIR": "/ovnl", "OVS_LOGDIR": "/ovsl"}, got: daemon.DefaultLogdir, want: "/ovnl"},

		{name: "bare --pidfile", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.PidfilePath("", "ovn-controller-vtep") }, want: "/r/ovn-controller-vtep.pid"},
		{name: "relative --pidfile=FILE is in rundir", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.PidfilePath("sub/x.pid", "p") }, want: "/r/sub/x.pid"},
		{name: "rundir with trailing slash", env: map[string]string{"OVN_RUNDIR": "/r/"},
			got: func() string { return daemon.PidfilePath("x.pid", "p") }, want: "/r/x.pid"},
		{name: "absolute --pidfile=FILE", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.PidfilePath("/abs/x.pid", "p") }, want: "/abs/x.pid"},

		{name: "bare --log-file", env: map[string]string{"OVN_LOGDIR": "/l"},
			got: func() string { return daemon.LogFilePath("", "ovn-controller-vtep") }, want: "/l/ovn-controller-vtep.log"},
		{name: "relative --log-file=FILE stays relative", env: map[string]string{"OVN_LOGDIR": "/l"},
			got: func() string { return daemon.LogFilePath("x.log", "p") }, want: "x.log"},
		{name: "absolute --log-file=FILE", env: map[string]string{"OVN_LOGDIR": "/l"},
			got: func() string { return daemon.LogFilePath("/abs/x.log", "p") }, want: "/abs/x.log"},

		{name: "default ctl path", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.DefaultCtlPath("ovn-controller-vtep", 42) }, want: "/r/ovn-controller-vtep.42.ctl"},
		{name: "no --unixctl", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.CtlPath("", "p", 7) }, want: "/r/p.7.ctl"},
		{name: "relative --unixctl is in rundir", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.CtlPath("p.ctl", "p", 7) }, want: "/r/p.ctl"},
		{name: "absolute --unixctl", env: map[string]string{"OVN_RUNDIR": "/r"},
			got: func() string { return daemon.CtlPath("/s/p.ctl", "p", 7) }, want: "/s/p.ctl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"OVN_RUNDIR", "OVS_RUNDIR", "OVN_LOGDIR", "OVS_LOGDIR"} {
				t.Setenv(name, tt.env[name]) // "" counts as unset
			}
			if got := tt.got(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
