// Package retention removes messages older than each account's
// retention period, in the background, in small batches: each batch is
// one short store transaction, so deliveries and IMAP sessions never wait
// long behind it, and IMAP sessions see the removals as EXPUNGE.
package retention

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// Options configure a Remover.
type Options struct {
	Store *mailstore.Store
	// Policies maps an account to how long its messages are kept (by
	// internal date: when maildock received them).
	Policies map[string]time.Duration
	Interval time.Duration // between passes; default 1 hour
	Batch    int           // messages per transaction; default 500
	// Expired, if set, is told how many messages each batch removed.
	Expired func(account string, n int)
	Logger  *slog.Logger
}

// Remover runs the passes.
type Remover struct {
	opt Options
	log *slog.Logger

	mu       sync.Mutex
	policies map[string]time.Duration
	kick     chan struct{}
}

// New returns a Remover; Run starts it.
func New(opts Options) *Remover {
	if opts.Interval <= 0 {
		opts.Interval = time.Hour
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Remover{opt: opts, log: opts.Logger, policies: maps.Clone(opts.Policies), kick: make(chan struct{}, 1)}
}

// SetPolicies replaces the policies (config reload) and starts a pass.
func (r *Remover) SetPolicies(p map[string]time.Duration) {
	r.mu.Lock()
	r.policies = maps.Clone(p)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run makes a pass at once and then every Interval until ctx ends.
func (r *Remover) Run(ctx context.Context) {
	t := time.NewTicker(r.opt.Interval)
	defer t.Stop()
	for {
		r.Pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// Pass removes, account by account, every message older than its
// retention, a batch at a time. It returns how many went.
func (r *Remover) Pass(ctx context.Context) int {
	r.mu.Lock()
	policies := maps.Clone(r.policies)
	r.mu.Unlock()
	total := 0
	for account, keep := range policies {
		cutoff := time.Now().Add(-keep)
		n := 0
		for ctx.Err() == nil {
			got, err := r.opt.Store.ExpungeOlder(ctx, account, cutoff, r.opt.Batch)
			if err != nil {
				r.log.Error("retention: removing old messages", "account", account, "err", err)
				break
			}
			if got == 0 {
				break
			}
			n += got
			if r.opt.Expired != nil {
				r.opt.Expired(account, got)
			}
		}
		if n > 0 {
			r.log.Info("retention: old messages removed", "account", account, "messages", n, "older_than", cutoff.UTC().Format(time.RFC3339))
		}
		total += n
	}
	return total
}
