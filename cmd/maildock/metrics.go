package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/pickup"
)

// metricsHandler serves /metrics. The store's group-commit counters tell how
// many messages share an fsync: writes_total / commits_total.
// The servers' own metrics (package metrics) are already in reg.
func metricsHandler(reg *prometheus.Registry, store *mailstore.Store, drop *pickup.Writer) http.Handler {
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
