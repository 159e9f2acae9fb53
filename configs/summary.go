package configs

import (
	"fmt"
	"sort"
	"strings"
)

// Listener is one address the server listens on.
type Listener struct {
	// Proto is smtp, smtps, submission, submissions, imap, imaps, pop3,
	// pop3s or http; the "s" forms are implicit TLS.
	Proto string
	Addr  string
}

// Listeners returns every configured listen address, in the order smtp,
// smtps, submission, submissions, imap, imaps, pop3, pop3s, http.
func (c *Config) Listeners() []Listener {
	var out []Listener
	for _, k := range c.listenKeys() {
		for _, a := range k.addrs {
			out = append(out, Listener{Proto: k.proto, Addr: a})
		}
	}
	return out
}

// Domains returns the domains maildock accepts mail for: the lowercased
// domains of all account addresses, sorted, each once.
func (c *Config) Domains() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range c.Accounts {
		for _, addr := range a.Addresses {
			at := strings.LastIndexByte(addr, '@')
			if at < 0 {
				continue
			}
			d := strings.ToLower(addr[at+1:])
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// AddressMap returns the address directory: exact maps each lowercased
// full address to its account's name, catchAll each lowercased domain of
// an "@domain" address. An exact address wins over its domain's catch-all.
func (c *Config) AddressMap() (exact, catchAll map[string]string) {
	exact, catchAll = map[string]string{}, map[string]string{}
	for _, a := range c.Accounts {
		for _, addr := range a.Addresses {
			addr = strings.ToLower(addr)
			if d, ok := strings.CutPrefix(addr, "@"); ok {
				catchAll[d] = a.Name
			} else {
				exact[addr] = a.Name
			}
		}
	}
	return exact, catchAll
}

// Account returns the account called name, or nil.
func (c *Config) Account(name string) *Account {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return &c.Accounts[i]
		}
	}
	return nil
}

// Summary describes c for `maildock check`: the domains, each account with
// its addresses and drop folder, every listener per protocol, the data
// directory, where the TLS certificate comes from and where mail is relayed.
// It ends with a newline.
func (c *Config) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname: %s\n", c.Hostname)
	fmt.Fprintf(&b, "domains: %s\n", strings.Join(c.Domains(), ", "))
	fmt.Fprintf(&b, "accounts: %d\n", len(c.Accounts))
	for _, a := range c.Accounts {
		fmt.Fprintf(&b, "  %s: %s\n", a.Name, strings.Join(a.Addresses, ", "))
		if p := a.Pickup; p != nil {
			keep := "also kept in the mailbox"
			if !p.Keep {
				keep = "files only, not kept in the mailbox"
			}
			fmt.Fprintf(&b, "    drop folder: %s (%s, %s, mode %s; %s)\n", p.Dir, p.Format, p.LineEndings, p.FileMode, keep)
		}
		if len(a.SendAs) > 0 {
			fmt.Fprintf(&b, "    sends as: %s\n", strings.Join(a.SendAs, ", "))
		}
		var limits []string
		if a.Quota > 0 {
			limits = append(limits, "quota "+a.Quota.String())
		}
		if a.Retention > 0 {
			limits = append(limits, "retention "+a.Retention.String())
		}
		if len(limits) > 0 {
			fmt.Fprintf(&b, "    %s\n", strings.Join(limits, ", "))
		}
	}
	b.WriteString("listeners:\n")
	for _, k := range c.listenKeys() {
		addrs := "off"
		if len(k.addrs) > 0 {
			addrs = strings.Join(k.addrs, ", ")
		}
		fmt.Fprintf(&b, "  %-12s %s\n", k.proto, addrs)
	}
	if len(c.SMTP.AllowedNetworks) > 0 {
		fmt.Fprintf(&b, "smtp accepts connections from: %s\n", strings.Join(c.SMTP.AllowedNetworks, ", "))
	} else {
		b.WriteString("smtp accepts connections from: anyone\n")
	}
	fmt.Fprintf(&b, "data_dir: %s\n", c.DataDir)
	if c.TLS.SelfSigned() {
		fmt.Fprintf(&b, "tls: self-signed certificate for %s, generated into %s\n", c.Hostname, c.DataDir)
	} else {
		fmt.Fprintf(&b, "tls: certificate %s, key %s\n", c.TLS.CertFile, c.TLS.KeyFile)
	}
	if c.relayInUse() {
		fmt.Fprintf(&b, "relay: %s via %s (%s)\n", c.Relay.Mode, c.Relay.Host, c.Relay.TLS)
		for _, p := range c.PickupOut {
			fmt.Fprintf(&b, "  pickup_out: %s as %s, then %s\n", p.Dir, p.Account, p.After)
		}
	} else {
		b.WriteString("relay: unused (no submission listener, no pickup_out)\n")
	}
	return b.String()
}
