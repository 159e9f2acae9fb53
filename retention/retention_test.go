package retention

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

func deliver(t *testing.T, s *mailstore.Store, account string, age time.Duration, i int) {
	t.Helper()
	m, err := mailstore.ReadMessage(bytes.NewReader([]byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(context.Background(), m, []mailstore.Target{{Account: account, Date: time.Now().Add(-age)}}); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *mailstore.Store, account string) int {
	t.Helper()
	u, err := s.Usage(account)
	if err != nil {
		t.Fatal(err)
	}
	return u.Messages
}

// A pass removes, in batches, exactly the messages older than each
// account's retention; accounts without one keep everything.
func TestPass(t *testing.T) {
	s, err := mailstore.Open(mailstore.Options{Path: filepath.Join(t.TempDir(), "maildock.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const day = 24 * time.Hour
	for i := range 25 {
		deliver(t, s, "short", 10*day, i)
		deliver(t, s, "long", 10*day, i)
		deliver(t, s, "none", 1000*day, i)
	}
	for i := range 3 {
		deliver(t, s, "short", time.Hour, 100+i)
	}
	var batches []int
	r := New(Options{Store: s, Batch: 7,
		Policies: map[string]time.Duration{"short": 7 * day, "long": 30 * day},
		Expired:  func(account string, n int) { batches = append(batches, n) }})
	if n := r.Pass(context.Background()); n != 25 {
		t.Errorf("first pass removed %d, want 25", n)
	}
	if fmt.Sprint(batches) != "[7 7 7 4]" {
		t.Errorf("batches %v, want [7 7 7 4]", batches)
	}
	if got := count(t, s, "short"); got != 3 {
		t.Errorf("short keeps %d, want the 3 recent", got)
	}
	if got := count(t, s, "long"); got != 25 {
		t.Errorf("long keeps %d, want 25", got)
	}
	if got := count(t, s, "none"); got != 25 {
		t.Errorf("an account without retention lost mail: %d left", got)
	}
	if n := r.Pass(context.Background()); n != 0 {
		t.Errorf("second pass removed %d", n)
	}
	// A reload that shortens "long" starts a pass at once.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.SetPolicies(map[string]time.Duration{"long": 5 * day})
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s, "long") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reload did not start a pass")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
