package imapserve

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// mbKey names a mailbox of an account.
type mbKey struct{ account, mailbox string }

// hub fans the store's change notifications out to the sessions that have
// the changed mailbox selected. One goroutine pulls the changes in commit
// order and queues them on each session's view (see view.note); sessions
// apply them when IMAP lets them speak (after a command, or at once in
// IDLE). Each session keeps its own list of the UIDs its client knows, so
// no shared structure has to see every session's updates in one order.
//
// The hub also keeps \Recent: per mailbox, the first UID no session has
// claimed yet. The first session to see a message claims
// it; it is \Recent in that session only (RFC 3501 section 2.3.2). This is
// in memory: after a restart, messages that arrived before it are not
// \Recent.
type hub struct {
	sub *mailstore.Subscription
	log *slog.Logger

	mu     sync.Mutex
	views  map[mbKey]map[*view]struct{}
	recent map[mbKey]uint32 // first UID not yet claimed

	// applied is the store change Seq the hub has handed out; advanced is
	// closed (and replaced) each time it moves, for catchUp.
	applied  uint64
	advanced chan struct{}

	store *mailstore.Store
	done  chan struct{}
}

func newHub(store *mailstore.Store, log *slog.Logger) *hub {
	h := &hub{
		sub:      store.Subscribe(),
		log:      log,
		views:    map[mbKey]map[*view]struct{}{},
		recent:   map[mbKey]uint32{},
		advanced: make(chan struct{}),
		store:    store,
		done:     make(chan struct{}),
	}
	h.applied = h.sub.Pos()
	go h.run()
	return h
}

// testHookHubLag, if set, runs before the hub hands out each batch of
// changes: tests make the hub late with it.
var testHookHubLag atomic.Pointer[func()]

func (h *hub) run() {
	defer close(h.done)
	for range h.sub.C() {
		if hook := testHookHubLag.Load(); hook != nil {
			(*hook)()
		}
		changes, resync := h.sub.Changes()
		h.mu.Lock()
		if resync {
			h.log.Warn("imap: fell behind the store's change log; sessions resynchronise")
			for _, views := range h.views {
				for v := range views {
					v.noteResync()
				}
			}
		}
		for i := range changes {
			ch := &changes[i]
			k := mbKey{ch.Account, ch.Mailbox}
			switch ch.Kind {
			case mailstore.MessagesAdded:
				if _, ok := h.recent[k]; !ok && len(ch.UIDs) > 0 {
					h.recent[k] = ch.UIDs[0]
				}
				fallthrough
			case mailstore.MessagesExpunged, mailstore.FlagsChanged:
				for v := range h.views[k] {
					v.note(ch)
				}
			case mailstore.MailboxDeleted, mailstore.MailboxRenamed:
				delete(h.recent, k)
				for v := range h.views[k] {
					v.noteGone()
				}
			}
		}
		h.applied = h.sub.Pos()
		close(h.advanced)
		h.advanced = make(chan struct{})
		h.mu.Unlock()
	}
}

// catchUpWait bounds catchUp: the hub is a goroutine doing map updates, so
// it is behind by microseconds; the bound only keeps a wedged hub from
// hanging every session.
const catchUpWait = 2 * time.Second

// catchUp waits until the hub has handed out every change committed before
// the call. Sessions call it before they report updates and before STATUS,
// so a client that saw another connection's command complete (an APPEND,
// a CLOSE that expunged) hears of its effect in its next command, as IMAP
// clients (and imaptest) expect, instead of one command later.
func (h *hub) catchUp() {
	want := h.store.ChangeSeq()
	var timer *time.Timer
	for {
		h.mu.Lock()
		if h.applied >= want {
			h.mu.Unlock()
			return
		}
		ch := h.advanced
		h.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(catchUpWait)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-h.done:
			return
		}
	}
}

// register starts queueing the changes of v's mailbox on v. Register before
// reading the mailbox: a change that lands in between then shows up twice
// (in the snapshot and as a change), which views take as a no-op, instead of
// never.
func (h *hub) register(v *view) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := mbKey{v.account, v.name}
	if h.views[k] == nil {
		h.views[k] = map[*view]struct{}{}
	}
	h.views[k][v] = struct{}{}
}

func (h *hub) unregister(v *view) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := mbKey{v.account, v.name}
	delete(h.views[k], v)
	if len(h.views[k]) == 0 {
		delete(h.views, k)
	}
}

// claimRecent claims for one session the messages of a mailbox below
// uidNext that no session has claimed yet, and returns the first claimed
// UID (uidNext if none). Messages that were there before the server
// started (before the hub saw a delivery to the mailbox) are never claimed.
func (h *hub) claimRecent(k mbKey, uidNext uint32) uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	first, ok := h.recent[k]
	if !ok || first > uidNext {
		first = uidNext
	}
	// Never move the mark back: a session whose snapshot is older than
	// another's claim would hand out \Recent a second time.
	if !ok || uidNext > h.recent[k] {
		h.recent[k] = uidNext
	}
	return first
}

// unclaimedFrom returns the first UID of a mailbox no session has claimed
// (for STATUS RECENT), or 0 if every message is claimed or old.
func (h *hub) unclaimedFrom(k mbKey) uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recent[k]
}

func (h *hub) close() {
	h.sub.Close()
	<-h.done
}
