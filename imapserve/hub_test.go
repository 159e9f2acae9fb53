package imapserve

import "testing"

// \Recent goes to one session only, even when a session claims with a
// snapshot older than another session's claim (imaptest's stress run found
// a message \Recent in two sessions when the mark could move back).
func TestClaimRecentNeverTwice(t *testing.T) {
	h := &hub{recent: map[mbKey]uint32{}}
	k := mbKey{"app", "INBOX"}
	h.recent[k] = 84 // the hub saw UIDs from 84 on arrive
	// B saw UIDs 84..89 arrive and claims them.
	if first := h.claimRecent(k, 90); first != 84 {
		t.Fatalf("B claims from %d, want 84", first)
	}
	// A selected with a snapshot taken before 84 arrived, then learns
	// of 84..89 in its next update.
	if first := h.claimRecent(k, 84); first != 84 {
		t.Errorf("A's stale claim returns %d, want 84 (nothing recent)", first)
	}
	if first := h.claimRecent(k, 90); first != 90 {
		t.Errorf("A claims from %d: UIDs below 90 are B's, want 90", first)
	}
	if got := h.unclaimedFrom(k); got != 90 {
		t.Errorf("unclaimed from %d, want 90", got)
	}
}
