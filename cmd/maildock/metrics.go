package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/maildock/maildock/configs"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/pickup"
)

// metricsHandler serves /metrics. The store's group-commit counters tell how
// many messages share an fsync: writes_total / commits_total.
// The servers' own metrics (package metrics) are already in reg.
func metricsHandler(reg *prometheus.Registry, store *mailstore.Store, drop *pickup.Writer, accounts func() []configs.Account) http.Handler {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "maildock_store_commits_total",
			Help: "Store transactions committed (each one fsync).",
		}, func() float64 { c, _ := store.CommitStats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "maildock_store_writes_total",
			Help: "Writes (deliveries, flag changes, expunges...) carried by those commits.",
		}, func() float64 { _, w := store.CommitStats(); return float64(w) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "maildock_store_bytes",
			Help: "Size of the store file (bbolt does not shrink it: see maildock compact).",
		}, func() float64 { return float64(store.Size()) }),
		dropBacklog{drop},
		accountUsage{store, accounts},
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// dropBacklog reports each drop folder's queue length, read at scrape time.
type dropBacklog struct{ w *pickup.Writer }

var dropBacklogDesc = prometheus.NewDesc("maildock_pickup_backlog",
	"Messages accepted but not yet written to the account's drop folder.", []string{"account"}, nil)

func (d dropBacklog) Describe(ch chan<- *prometheus.Desc) { ch <- dropBacklogDesc }

func (d dropBacklog) Collect(ch chan<- prometheus.Metric) {
	for account, n := range d.w.Backlog() {
		ch <- prometheus.MustNewConstMetric(dropBacklogDesc, prometheus.GaugeValue, float64(n), account)
	}
}

// accountUsage reports what each account holds, and its quota, read at
// scrape time (the store keeps each account's usage in memory between
// changes).
type accountUsage struct {
	store    *mailstore.Store
	accounts func() []configs.Account
}

var (
	accountBytesDesc = prometheus.NewDesc("maildock_account_bytes",
		"Bytes of every message in every mailbox of the account.", []string{"account"}, nil)
	accountMessagesDesc = prometheus.NewDesc("maildock_account_messages",
		"Messages in every mailbox of the account.", []string{"account"}, nil)
	accountQuotaDesc = prometheus.NewDesc("maildock_account_quota_bytes",
		"The account's quota (only for accounts with one); beyond it SMTP answers 452 4.2.2.", []string{"account"}, nil)
)

func (a accountUsage) Describe(ch chan<- *prometheus.Desc) {
	ch <- accountBytesDesc
	ch <- accountMessagesDesc
	ch <- accountQuotaDesc
}

func (a accountUsage) Collect(ch chan<- prometheus.Metric) {
	for _, acct := range a.accounts() {
		u, err := a.store.Usage(acct.Name)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(accountBytesDesc, prometheus.GaugeValue, float64(u.Bytes), acct.Name)
		ch <- prometheus.MustNewConstMetric(accountMessagesDesc, prometheus.GaugeValue, float64(u.Messages), acct.Name)
		if acct.Quota > 0 {
			ch <- prometheus.MustNewConstMetric(accountQuotaDesc, prometheus.GaugeValue, float64(acct.Quota), acct.Name)
		}
	}
}
