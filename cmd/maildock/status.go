package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// statusReport is what GET /status answers and `maildock status` prints.
type statusReport struct {
	Version  string          `json:"version"`
	Started  time.Time       `json:"started"`
	Accounts []accountStatus `json:"accounts"`
}

type accountStatus struct {
	Name          string         `json:"name"`
	Messages      int            `json:"messages"`
	Bytes         int64          `json:"bytes"`
	Quota         int64          `json:"quota,omitempty"`
	LastDelivery  *time.Time     `json:"last_delivery,omitempty"` // newest message's arrival
	PickupBacklog int            `json:"pickup_backlog"`
	Clients       []clientStatus `json:"clients"` // how its clients logged in during the last 7 days
}

type clientStatus struct {
	Proto      string    `json:"proto"`
	TLS        string    `json:"tls"`
	Logins     int64     `json:"logins"` // since first_login
	FirstLogin time.Time `json:"first_login"`
	LastLogin  time.Time `json:"last_login"`
}

// clientWindow is how far back status reports clients.
const clientWindow = 7 * 24 * time.Hour

// status gathers the report from the running daemon.
func (d *daemon) status() (*statusReport, error) {
	d.flushLogins()
	r := &statusReport{Version: version, Started: d.started, Accounts: []accountStatus{}}
	backlog := d.drop.Backlog()
	for _, a := range *d.accounts.Load() {
		u, err := d.store.Usage(a.Name)
		if err != nil {
			return nil, err
		}
		as := accountStatus{Name: a.Name, Messages: u.Messages, Bytes: u.Bytes, Quota: int64(a.Quota),
			PickupBacklog: backlog[a.Name], Clients: []clientStatus{}}
		if !u.Newest.IsZero() {
			as.LastDelivery = &u.Newest
		}
		uses, err := d.store.Clients(a.Name)
		if err != nil {
			return nil, err
		}
		for _, cu := range uses {
			if time.Since(cu.Last) < clientWindow {
				as.Clients = append(as.Clients, clientStatus{Proto: cu.Proto, TLS: cu.TLS, Logins: cu.Logins,
					FirstLogin: cu.First, LastLogin: cu.Last})
			}
		}
		r.Accounts = append(r.Accounts, as)
	}
	return r, nil
}

func (d *daemon) serveStatus(w http.ResponseWriter, r *http.Request) {
	rep, err := d.status()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
}

func cmdStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", "--config FILE [--json]", stderr)
	path := fs.String("config", "", "the running server's config file (required)")
	asJSON := fs.Bool("json", false, "print the server's JSON as it is")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	if cfg.HTTP.Listen == "" {
		return errors.New("status asks the running server over [http] listen, which this config turns off")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "http://" + dialable(cfg.HTTP.Listen) + "/status"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s (is it running?): %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var rep statusReport
	if err := json.Unmarshal(body, &rep); err != nil {
		return fmt.Errorf("%s: not a maildock status: %w", url, err)
	}
	printStatus(stdout, &rep, time.Now())
	return nil
}

// flushLogins moves the logins counted since the last flush into the
// store, where they outlive restarts. It runs every minute, before each
// status report and at shutdown; a failure keeps nothing but is logged.
func (d *daemon) flushLogins() {
	pending := d.metrics.Logins()
	if len(pending) == 0 {
		return
	}
	uses := make([]mailstore.ClientUse, 0, len(pending))
	for k, c := range pending {
		uses = append(uses, mailstore.ClientUse{Account: k.Account, Proto: k.Proto, TLS: k.TLS, Logins: c.N, First: c.First, Last: c.Last})
	}
	if err := d.store.RecordClients(context.Background(), uses); err != nil {
		d.log.Warn("recording client logins", "err", err)
	}
}

// dialable turns a listen address into one to connect to: a wildcard
// host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

func printStatus(w io.Writer, rep *statusReport, now time.Time) {
	fmt.Fprintf(w, "maildock %s, up %s\n\n", rep.Version, now.Sub(rep.Started).Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tMESSAGES\tSIZE\tQUOTA\tLAST DELIVERY\tDROP BACKLOG\tCLIENTS (LAST 7 DAYS)")
	for _, a := range rep.Accounts {
		quota := "-"
		if a.Quota > 0 {
			quota = fmt.Sprintf("%s (%d%%)", human(a.Quota), a.Bytes*100/a.Quota)
		}
		last := "never"
		if a.LastDelivery != nil {
			last = a.LastDelivery.Local().Format("2006-01-02 15:04") + " (" + ago(now.Sub(*a.LastDelivery)) + ")"
		}
		var clients []string
		for _, c := range a.Clients {
			clients = append(clients, fmt.Sprintf("%s %s (%s)", c.Proto, c.TLS, ago(now.Sub(c.LastLogin))))
		}
		if len(clients) == 0 {
			clients = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", a.Name, a.Messages, human(a.Bytes), quota, last,
			a.PickupBacklog, strings.Join(clients, ", "))
	}
	tw.Flush()
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// human prints a byte count as people read it: 260 B, 1.5 KiB, 2.0 GiB.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
