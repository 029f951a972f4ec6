package simulator

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/simulator/openflow"
)

// stageFlows is a small fixture: the PS flows of binding (port ofport,
// patch ofport, VLAN) into LS bridge dep, and an LS bridge's flows.
func psBinding(fs flowSet, phys, patch uint32, vlan uint16, dep string) {
	if vlan == 0 {
		fs.addDir(0, 100, openflow.Match{InPort: u32p(phys)}, openflow.Instructions{Actions: outputs([]uint32{patch})}, dirToLS, dep)
	} else {
		fs.addDir(0, 200, openflow.Match{InPort: u32p(phys), VlanVID: u16p(vlan)},
			openflow.Instructions{Actions: []openflow.Action{openflow.PopVLAN{}, openflow.Output{Port: patch}}}, dirToLS, dep)
	}
	fs.addDir(0, 100, openflow.Match{InPort: u32p(patch)}, openflow.Instructions{Actions: outputs([]uint32{phys})}, dirFromLS, dep)
}

// pb is one PS binding for psFlows: phys, patch, VLAN, LS bridge.
type pb struct {
	phys, patch uint32
	vlan        uint16
	dep         string
}

// psFlows is a PS bridge's flows for the bindings bs.
func psFlows(bs ...pb) flowSet {
	fs := flowSet{}
	for _, b := range bs {
		psBinding(fs, b.phys, b.patch, b.vlan, b.dep)
	}
	return fs
}

func lsFlows(locals ...uint32) flowSet {
	fs := flowSet{}
	for _, lp := range locals {
		fs.add(0, 100, openflow.Match{InPort: u32p(lp)}, openflow.Instructions{GotoTable: 1})
	}
	fs.add(1, 0, openflow.Match{}, openflow.Instructions{Actions: outputs(locals)})
	return fs
}

// describe renders a plan as "bridge: +in(port) -out(patch) ..." per stage.
func describe(plan []stage) []string {
	var out []string
	for _, st := range plan {
		var ms []string
		for _, m := range st.mods {
			op := "+"
			if m.Command == openflow.FlowDeleteStrict || m.Command == openflow.FlowDelete {
				op = "-"
			}
			what := fmt.Sprintf("t%d", m.Table)
			if m.Match.InPort != nil {
				what += fmt.Sprintf("/in%d", *m.Match.InPort)
			}
			if m.Match.VlanVID != nil {
				what += fmt.Sprintf("v%d", *m.Match.VlanVID)
			}
			ms = append(ms, op+what)
		}
		slices.Sort(ms)
		out = append(out, st.b.name+": "+strings.Join(ms, " "))
	}
	return out
}

// TestStagesMakeBeforeBreak checks the order in which one pass's flow
// changes go to the bridges (see stages): PS ingress removals and PS
// egress additions first, then the LS bridges, then PS ingress additions
// and egress removals; and PS flows into an LS bridge that takes no part
// in the pass are held.
func TestStagesMakeBeforeBreak(t *testing.T) {
	// Ports: p0 = 1, p1 = 2. Patch ports on PS: A's 10, 11; B's 20, 21.
	// On the LS bridges the peers are 1 and 2.
	type bridges map[string]flowSet
	tests := []struct {
		name       string
		installed  bridges
		want       bridges
		notReady   []string // LS bridges that take no part
		wantStages []string
	}{
		{
			// p0 VLAN 10 joins LS B while p0 VLAN 0 stays on LS A (a
			// trunk with a native VLAN): VLAN 10 frames move from A to B.
			name: "binding added",
			installed: bridges{
				"ps":  psFlows(pb{1, 10, 0, "lsA"}, pb{2, 11, 0, "lsA"}),
				"lsA": lsFlows(1, 2),
				"lsB": lsFlows(2),
			},
			want: bridges{
				"ps":  psFlows(pb{1, 10, 0, "lsA"}, pb{2, 11, 0, "lsA"}, pb{1, 20, 10, "lsB"}),
				"lsA": lsFlows(1, 2),
				"lsB": lsFlows(1, 2),
			},
			wantStages: []string{
				"ps: +t0/in20",     // egress out of B first
				"lsA: ",            // unchanged
				"lsB: +t0/in1 +t1", // B takes frames from the new patch port
				"ps: +t0/in1v10",   // only then PS sends VLAN 10 into B
			},
		},
		{
			name: "binding removed",
			installed: bridges{
				"ps":  psFlows(pb{1, 10, 0, "lsA"}, pb{1, 20, 10, "lsB"}),
				"lsA": lsFlows(1),
				"lsB": lsFlows(1, 2),
			},
			want: bridges{
				"ps":  psFlows(pb{1, 10, 0, "lsA"}),
				"lsA": lsFlows(1),
				"lsB": lsFlows(2),
			},
			wantStages: []string{
				"ps: -t0/in1v10", // VLAN 10 frames go back to A (whose flows are in) first
				"lsA: ",
				"lsB: +t1 -t0/in1", // then B forgets the binding
				"ps: -t0/in20",     // and the way out of B goes last
			},
		},
		{
			name: "LS bridge not ready: its PS flows are held",
			installed: bridges{
				"ps":  psFlows(pb{1, 10, 0, "lsA"}),
				"lsA": lsFlows(1),
			},
			want: bridges{
				"ps":  psFlows(pb{1, 10, 0, "lsA"}, pb{1, 20, 10, "lsB"}),
				"lsA": lsFlows(1),
				"lsB": lsFlows(1),
			},
			notReady:   []string{"lsB"},
			wantStages: []string{"ps: ", "lsA: ", "ps: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := map[string]*bridgeOF{}
			for name, fs := range tt.installed {
				if slices.Contains(tt.notReady, name) {
					continue
				}
				ls := name
				if name == "ps" {
					ls = ""
				}
				ready[name] = &bridgeOF{name: name, ls: ls, installed: fs, synced: true}
			}
			plan := stages("ps", ready, tt.want)
			got := describe(plan)
			for i := range got {
				got[i] = strings.TrimSpace(got[i])
			}
			want := slices.Clone(tt.wantStages)
			for i := range want {
				want[i] = strings.TrimSpace(want[i])
			}
			if !slices.Equal(got, want) {
				t.Errorf("stages:\n got  %q\n want %q", got, want)
			}
			// Whatever the order, the last stage of each bridge leaves it
			// with exactly the wanted flows (held ones excepted).
			final := map[string]flowSet{}
			for _, st := range plan {
				final[st.b.name] = st.after
			}
			for name := range ready {
				w := tt.want[name]
				if name == "ps" && len(tt.notReady) > 0 {
					w = tt.installed["ps"]
				}
				if fmt.Sprint(sortedFlowKeys(final[name])) != fmt.Sprint(sortedFlowKeys(w)) {
					t.Errorf("bridge %s ends with %d flows, want %d", name, len(final[name]), len(w))
				}
			}
		})
	}
}
