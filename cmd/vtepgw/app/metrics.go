package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vtepgw/vtepgw/vtep"
)

// metrics are vtepgw's Prometheus metrics (names vtepgw_<subsystem>_…).
type metrics struct {
	reg            *prometheus.Registry
	batches        *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	changes        *prometheus.CounterVec
	reloadFailures prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vtepgw_reconcile_batches_total", Help: "Reconcile batches by result.",
		}, []string{"switch", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vtepgw_reconcile_convergence_seconds",
			Help:    "Time from the first event of a batch to both databases committed.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"switch"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vtepgw_switch_changes_total", Help: "Entries written to switches.",
		}, []string{"switch"}),
		reloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vtepgw_config_reload_failures_total", Help: "Configuration reloads rejected.",
		}),
	}
	m.reg.MustRegister(m.batches, m.latency, m.changes, m.reloadFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// register adds gauges read from the running daemon at scrape time.
func (m *metrics) register(d *daemon) {
	m.reg.MustRegister(&stateCollector{d: d})
}

func (m *metrics) observeBatch(s vtep.BatchStats) {
	result := "ok"
	if s.Err != nil {
		result = "error"
	}
	m.batches.WithLabelValues(s.Gateway, result).Inc()
	m.latency.WithLabelValues(s.Gateway).Observe(s.Latency.Seconds())
	m.changes.WithLabelValues(s.Gateway).Add(float64(s.SwitchChanges))
}

var (
	descUp         = prometheus.NewDesc("vtepgw_connection_up", "1 when the database connection is up.", []string{"db"}, nil)
	descRows       = prometheus.NewDesc("vtepgw_switch_rows", "Entries on the switch by table.", []string{"switch", "table"}, nil)
	descConflicts  = prometheus.NewDesc("vtepgw_binding_conflicts_total", "Port_Binding conflicts seen.", []string{"switch"}, nil)
	descClashes    = prometheus.NewDesc("vtepgw_fdb_clashes_total", "FDB index clashes.", []string{"switch"}, nil)
	descNoEncap    = prometheus.NewDesc("vtepgw_chassis_without_vxlan_total", "Ports skipped for lack of a vxlan encap.", []string{"switch"}, nil)
	descNoEncapNow = prometheus.NewDesc("vtepgw_chassis_without_vxlan", "Chassis with ports in an attached datapath and no vxlan encap.", []string{"switch"}, nil)
	descIGMP       = prometheus.NewDesc("vtepgw_igmp_groups", "SB IGMP_Group memberships written for switch-learned groups.", []string{"switch"}, nil)
	descMcGroups   = prometheus.NewDesc("vtepgw_mcast_groups", "IP multicast groups mapped to Mcast_Macs_Remote.", []string{"switch"}, nil)
	descLearned    = prometheus.NewDesc("vtepgw_learned_macs", "Switch-learned MACs held in SB FDB.", []string{"switch"}, nil)
	descDeferred   = prometheus.NewDesc("vtepgw_learned_macs_rate_limited_total", "Learned MACs delayed by the learning rate limit.", []string{"switch"}, nil)
	descRefused    = prometheus.NewDesc("vtepgw_learned_macs_refused_total", "Learned MACs refused by a MAC limit.", []string{"switch"}, nil)
)

type stateCollector struct{ d *daemon }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descRows, descConflicts, descClashes, descNoEncap, descLearned, descDeferred, descRefused, descNoEncapNow, descIGMP, descMcGroups} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	up := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up(c.d.sb.Connected()), "southbound")
	for _, gr := range c.d.snapshot() {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up(gr.session.Connected()), gr.cfg.Name)
		for kind, table := range map[vtep.Kind]string{
			vtep.KindUcastRemote: "ucast_macs_remote", vtep.KindMcastRemote: "mcast_macs_remote",
			vtep.KindUcastLocal: "ucast_macs_local", vtep.KindMcastLocal: "mcast_macs_local",
		} {
			ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(len(gr.session.Entries(kind))), gr.cfg.Name, table)
		}
		_, _, st := gr.sb.Counts()
		ch <- prometheus.MustNewConstMetric(descConflicts, prometheus.CounterValue, float64(st.Conflicts), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descClashes, prometheus.CounterValue, float64(st.FDBClashes), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descNoEncap, prometheus.CounterValue, float64(st.NoVXLANEncap), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descLearned, prometheus.GaugeValue, float64(st.LearnedOwned), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descNoEncapNow, prometheus.GaugeValue, float64(st.ChassisWithoutVXLAN), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descIGMP, prometheus.GaugeValue, float64(st.IGMPGroups), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descMcGroups, prometheus.GaugeValue, float64(st.McastGroups), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descDeferred, prometheus.CounterValue, float64(st.RateDeferred), gr.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(st.CapRefused), gr.cfg.Name)
	}
}
