package learning

import (
	"fmt"
	"testing"
)

// TestAgingAndWriteBack: the switch ageing a MAC out (its Ucast_Macs_Local
// row deleted) deletes its FDB row; someone deleting our FDB row while the
// switch still has the MAC (northd's FDB ageing, an operator's ovn-sbctl
// destroy) gets it written back. Many aged out in one switch transaction
// go in one SB transaction.
func TestAgingAndWriteBack(t *testing.T) {
	t.Parallel()
	s := start(t, StackOptions{})
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	macs := MACs(7, 0, 200)
	s.InsertUML(t, 0, 0, macs, "learn 200")
	s.WaitFDBEqualsUML(t, 0, 0, wait)

	// Aged out: one MAC, then 150 at once.
	s.DeleteUML(t, 0, 0, macs[:1], "age 1")
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	if _, ok := s.FDB(dp)[macs[0]]; ok {
		t.Fatalf("FDB row for aged-out %s still there", macs[0])
	}
	mark := s.SB.Mark()
	s.DeleteUML(t, 0, 0, macs[1:151], "age 150")
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	if recs := s.GatewayRecords(mark, "FDB"); len(recs) > 2 {
		t.Errorf("150 MACs aged out in one switch transaction took %d SB transactions, want ≤ 2", len(recs))
	}

	// Deleted behind our back: written back.
	victim := s.FDB(dp)[macs[160]]
	mark = s.SB.Mark()
	s.OVN.MustSB(t, "destroy", "FDB", victim.UUID)
	waitFor(t, s.SB, wait, func() (bool, string) {
		e, ok := s.FDB(dp)[victim.MAC]
		return ok && e.UUID != victim.UUID && e.PortKey == pk,
			fmt.Sprintf("FDB %s: %+v (present %v), want a new row on port_key %d", victim.MAC, e, ok, pk)
	})
	if recs := s.GatewayRecords(mark, "FDB"); len(recs) != 1 || recs[0].Count("FDB", "insert") != 1 {
		t.Errorf("write-back: vtepgw FDB transactions %v, want one insert", recs)
	}
	// Several at once, with another ovn-sbctl in between.
	var gone []string
	for _, m := range macs[170:180] {
		gone = append(gone, "--", "destroy", "FDB", s.FDB(dp)[m].UUID)
	}
	s.OVN.MustSB(t, gone[1:]...)
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	s.CheckFDBEqualsUML(t, 0, 0)
}
