package imapserve

import (
	"context"
	"fmt"
	"math/rand"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// modelConn is a raw client that keeps the sequence-number view its
// responses imply, and fails on any response that contradicts it: an
// EXPUNGE or FETCH of a number it does not have, EXISTS that shrinks, a
// UID that moves.
type modelConn struct {
	*rawConn
	name string
	uids []uint32 // 0: a message the client has not learnt the UID of yet
	errs []string
}

var (
	existsRE  = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	expungeRE = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)
	fetchRE   = regexp.MustCompile(`^\* (\d+) FETCH \((.*)\)$`)
	uidRE     = regexp.MustCompile(`UID (\d+)`)
)

func (m *modelConn) fail(format string, args ...any) {
	m.errs = append(m.errs, m.name+": "+fmt.Sprintf(format, args...))
}

func (m *modelConn) apply(lines []string) {
	for _, l := range lines {
		switch {
		case existsRE.MatchString(l):
			n, _ := strconv.Atoi(existsRE.FindStringSubmatch(l)[1])
			if n < len(m.uids) {
				m.fail("EXISTS %d < %d known", n, len(m.uids))
			}
			for len(m.uids) < n {
				m.uids = append(m.uids, 0)
			}
		case expungeRE.MatchString(l):
			n, _ := strconv.Atoi(expungeRE.FindStringSubmatch(l)[1])
			if n < 1 || n > len(m.uids) {
				m.fail("EXPUNGE %d of %d", n, len(m.uids))
				continue
			}
			m.uids = slices.Delete(m.uids, n-1, n)
		case fetchRE.MatchString(l):
			sm := fetchRE.FindStringSubmatch(l)
			n, _ := strconv.Atoi(sm[1])
			if n < 1 || n > len(m.uids) {
				m.fail("FETCH %d of %d: %q", n, len(m.uids), l)
				continue
			}
			if um := uidRE.FindStringSubmatch(sm[2]); um != nil {
				u, _ := strconv.Atoi(um[1])
				if m.uids[n-1] != 0 && m.uids[n-1] != uint32(u) {
					m.fail("message %d was UID %d, now %d", n, m.uids[n-1], u)
				}
				m.uids[n-1] = uint32(u)
			}
		case strings.HasPrefix(l, "* BYE"):
			m.fail("BYE: %q", l)
		}
	}
	for i := 1; i < len(m.uids); i++ {
		if m.uids[i-1] != 0 && m.uids[i] != 0 && m.uids[i-1] >= m.uids[i] {
			m.fail("UIDs out of order at %d: %v", i+1, m.uids)
			break
		}
	}
}

func (m *modelConn) do(format string, args ...any) string {
	u, st := m.cmd(format, args...)
	m.apply(u)
	if strings.HasPrefix(st, "BAD") || strings.Contains(st, "SERVERBUG") {
		m.fail("%s: %s", fmt.Sprintf(format, args...), st)
	}
	return st
}

// Several sessions of one account, deliveries, flag changes, expunges and
// moves at once: every session's view stays consistent, and in the end
// all of them agree with the store.
func TestConcurrentSessions(t *testing.T) {
	e := newIMAPEnv(t)
	e.mkdir(imapUser, "Elsewhere")
	for i := range 20 {
		e.deliver(imapUser, "INBOX", testMessage(i, "seed"))
	}
	const sessions = 5
	const rounds = 60
	conns := make([]*modelConn, sessions)
	for i := range conns {
		m := &modelConn{rawConn: e.raw(), name: fmt.Sprintf("session %d", i)}
		m.ok(`LOGIN app "s3cret pass"`)
		m.do("SELECT INBOX")
		m.do("FETCH 1:* UID")
		conns[i] = m
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // SMTP
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.Intn(3)) * time.Millisecond):
			}
			e.deliver(imapUser, "INBOX", testMessage(100+i, "concurrent"))
		}
	}()
	wg.Add(1)
	go func() { // another path changing flags and expunging directly
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			snap, err := e.store.Messages(imapUser, "INBOX")
			if err != nil || len(snap.Messages) == 0 {
				continue
			}
			uid := snap.Messages[rand.Intn(len(snap.Messages))].UID
			if rand.Intn(4) == 0 {
				e.store.Expunge(context.Background(), imapUser, "INBOX", []uint32{uid})
			} else {
				e.store.SetFlags(context.Background(), imapUser, "INBOX", []uint32{uid}, 0, []string{"$Touched"})
			}
		}
	}()
	var sw sync.WaitGroup
	for i, m := range conns {
		sw.Add(1)
		go func() {
			defer sw.Done()
			r := rand.New(rand.NewSource(int64(i)))
			for round := 0; round < rounds; round++ {
				n := len(m.uids)
				pick := func() int { return 1 + r.Intn(n) }
				switch op := r.Intn(10); {
				case n == 0 || op == 0:
					m.do("NOOP")
				case op == 1:
					m.do(`STORE %d +FLAGS (\Deleted)`, pick())
				case op == 2:
					m.do("EXPUNGE")
				case op == 3:
					m.do("FETCH %d:%d (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])", 1, n)
				case op == 4:
					m.do("SEARCH UNSEEN")
				case op == 5:
					m.do(`UID STORE %d:* -FLAGS.SILENT (\Seen)`, 1+r.Intn(50))
				case op == 6 && i == 0:
					m.do("MOVE %d Elsewhere", pick())
				case op == 7 && i == 1:
					m.send("I IDLE")
					if l := m.line(); l != "+ idling" {
						m.fail("IDLE: %q", l)
					}
					time.Sleep(20 * time.Millisecond)
					m.send("DONE")
					var u []string
					for {
						l := m.line()
						if strings.HasPrefix(l, "I ") {
							break
						}
						u = append(u, l)
					}
					m.apply(u)
				case op == 8:
					m.do("FETCH %d BODY[]", pick())
				default:
					m.do("UID FETCH 1:* (UID)")
				}
			}
		}()
	}
	sw.Wait()
	close(stop)
	wg.Wait()

	snap, err := e.store.Messages(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var want []uint32
	for _, msg := range snap.Messages {
		want = append(want, msg.UID)
	}
	for _, m := range conns {
		deadline := time.Now().Add(10 * time.Second)
		for {
			m.do("NOOP")
			m.do("FETCH 1:* UID")
			if slices.Equal(m.uids, want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !slices.Equal(m.uids, want) {
			t.Errorf("%s ends with %v\nthe store has %v", m.name, m.uids, want)
		}
		for _, err := range m.errs {
			t.Error(err)
		}
	}
	t.Logf("%d messages left after %d rounds in %d sessions", len(want), rounds, sessions)
}

// A message expunged by another session while its body is being sent
// (the client reads slowly, so the server is blocked half way through the
// literal): the FETCH completes with the whole body, byte-exact, and the
// connection stays up. The store keeps the body until the send ends
// (mailstore pins); imaptest's stress run found connections closed here.
func TestFetchOfMessageExpungedWhileSending(t *testing.T) {
	e := newIMAPEnv(t)
	// 16 MiB: more than loopback socket buffers hold, so the server must
	// wait for the client in the middle of the literal.
	body := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 16<<20/64)
	raw := testMessage(1, body)
	uid := e.deliver(imapUser, "INBOX", raw)
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	rc.send("F UID FETCH 1:* BODY.PEEK[]")
	// Let the server fill the socket buffers, then expunge under it.
	time.Sleep(300 * time.Millisecond)
	if _, err := e.store.Expunge(context.Background(), imapUser, "INBOX", []uint32{uid}); err != nil {
		t.Fatal(err)
	}
	l := rc.line()
	want := fmt.Sprintf("* 1 FETCH (UID %d BODY[] {%d}\r\n", uid, len(raw))
	if !strings.HasPrefix(l, want) || !strings.HasSuffix(l, string(raw)+")") {
		t.Fatalf("FETCH response: %d bytes, starts %q", len(l), l[:min(len(l), 80)])
	}
	// UID FETCH may carry the EXPUNGE (RFC 3501 section 7.4.1), else NOOP.
	var after []string
	for {
		l := rc.line()
		if strings.HasPrefix(l, "F ") {
			if !strings.HasPrefix(l, "F OK") {
				t.Errorf("FETCH status: %q", l)
			}
			break
		}
		after = append(after, l)
	}
	after = append(after, rc.ok("NOOP")...)
	if !contains(after, "* 1 EXPUNGE") {
		t.Errorf("no EXPUNGE after the FETCH: %q", after)
	}
}
