package mailstore

import "sync"

// ChangeKind says what a Change did.
type ChangeKind int

const (
	MessagesAdded    ChangeKind = iota + 1 // UIDs were added to the mailbox
	MessagesExpunged                       // UIDs were removed from the mailbox
	FlagsChanged                           // the flags of UIDs changed
	MailboxCreated
	MailboxDeleted
	MailboxRenamed // Mailbox is the old name, NewName the new one
	PickupQueued   // the account has new drop-folder work (see PendingPickups)
)

// Change is one committed change, in commit order.
type Change struct {
	Seq     uint64 // position in the change log, starting at 1 for each Store
	Kind    ChangeKind
	Account string
	Mailbox string
	NewName string   // MailboxRenamed
	UIDs    []uint32 // in increasing order
}

// logSize bounds the in-memory change log; a subscriber further behind than
// this is told to resync instead of being handed an incomplete list.
const logSize = 8192

type notifier struct {
	mu     sync.Mutex
	log    []Change // ring of the last logSize changes
	next   uint64   // Seq of the next change
	subs   map[*Subscription]struct{}
	closed bool
}

func (n *notifier) init() {
	n.next = 1
	n.subs = make(map[*Subscription]struct{})
}

func (n *notifier) publish(changes []Change) {
	if len(changes) == 0 {
		return
	}
	n.mu.Lock()
	for _, c := range changes {
		c.Seq = n.next
		n.next++
		if len(n.log) < logSize {
			n.log = append(n.log, c)
		} else {
			n.log[(c.Seq-1)%logSize] = c
		}
	}
	for sub := range n.subs {
		// A poke, never a wait: a slow subscriber finds the change when it
		// pulls, so it cannot hold delivery up.
		select {
		case sub.c <- struct{}{}:
		default:
		}
	}
	n.mu.Unlock()
}

func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for sub := range n.subs {
		close(sub.c)
		delete(n.subs, sub)
	}
}

// Subscription receives a wake-up after each commit that changed something,
// and pulls the changes with Changes.
type Subscription struct {
	n    *notifier
	c    chan struct{}
	next uint64
}

// Subscribe starts a subscription at the current point: Changes returns only
// what is committed after this call.
func (s *Store) Subscribe() *Subscription {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	sub := &Subscription{n: n, c: make(chan struct{}, 1), next: n.next}
	if n.closed {
		close(sub.c)
		return sub
	}
	n.subs[sub] = struct{}{}
	return sub
}

// ChangeSeq is the Seq of the last change published: a subscriber whose
// Pos has reached it has seen every commit that returned before the call.
func (s *Store) ChangeSeq() uint64 {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.next - 1
}

// Pos is the Seq of the last change this subscription has pulled (or
// skipped, after a resync).
func (sub *Subscription) Pos() uint64 {
	sub.n.mu.Lock()
	defer sub.n.mu.Unlock()
	return sub.next - 1
}

// C is poked (coalesced: one pending poke at most) after changes are
// committed. It is closed when the store closes.
func (sub *Subscription) C() <-chan struct{} { return sub.c }

// Changes returns the changes committed since the last call. If the
// subscriber fell so far behind that some were dropped from the log, it
// returns resync = true and no changes: the subscriber must re-read the
// state it cares about from the store.
func (sub *Subscription) Changes() (changes []Change, resync bool) {
	n := sub.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if sub.next == n.next {
		return nil, false
	}
	oldest := n.next - uint64(len(n.log))
	if sub.next < oldest {
		sub.next = n.next
		return nil, true
	}
	for seq := sub.next; seq < n.next; seq++ {
		changes = append(changes, n.log[(seq-1)%logSize])
	}
	sub.next = n.next
	return changes, false
}

// Close ends the subscription.
func (sub *Subscription) Close() {
	n := sub.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.subs[sub]; ok {
		delete(n.subs, sub)
		close(sub.c)
	}
}
