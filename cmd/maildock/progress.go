package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress shows how far an import got on stderr: a bar redrawn in place
// on a terminal, otherwise a plain line after the first batch and then
// every few seconds (for logs and for scripts that watch it).
type progress struct {
	w     io.Writer
	tty   bool
	total int64
	last  time.Time
	shown bool
	line  string // the last line shown
	width int
}

func newProgress(w io.Writer, sources []importSource) *progress {
	p := &progress{w: w, width: 30}
	for _, s := range sources {
		p.total += s.size
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) percent(done int64) int {
	if p.total <= 0 {
		return 100
	}
	return int(min(done*100/p.total, 100))
}

func (p *progress) update(done int64, stored, skipped int) {
	p.show(done, stored, skipped, false)
}

func (p *progress) show(done int64, stored, skipped int, force bool) {
	now := time.Now()
	every := 2 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if p.shown && now.Sub(p.last) < every && !force {
		return
	}
	p.shown, p.last = true, now
	pct := p.percent(done)
	if p.tty {
		bar := strings.Repeat("#", pct*p.width/100) + strings.Repeat("-", p.width-pct*p.width/100)
		fmt.Fprintf(p.w, "\rimport [%s] %3d%%  %d stored, %d already there ", bar, pct, stored, skipped)
		return
	}
	line := fmt.Sprintf("import: %d%%, %d messages stored, %d already there\n", pct, stored, skipped)
	if line != p.line {
		p.line = line
		io.WriteString(p.w, line)
	}
}

// finish shows the last state; complete says SRC was read to its end.
func (p *progress) finish(stored, skipped int, complete bool) {
	if complete {
		p.show(p.total, stored, skipped, true)
	}
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
