package api

import (
	"net/http"
	"strconv"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	commit        prometheus.Histogram
	forwarded     prometheus.Counter
	leaderChanges prometheus.Counter
	diskFull      prometheus.Gauge
	requests      *prometheus.CounterVec
	handler       http.Handler
}

func newMetrics(s *Server, reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vela_raft_commit_seconds", Help: "Time from proposing a command to it being applied on the leader.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		forwarded:     prometheus.NewCounter(prometheus.CounterOpts{Name: "vela_api_forwarded_total", Help: "Requests forwarded to the leader."}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "vela_raft_leader_changes_total", Help: "Leader changes observed by this member."}),
		diskFull:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "vela_data_dir_full", Help: "1 while writes are refused for lack of space in the data dir."}),
		requests:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vela_api_requests_total", Help: "API requests by route and status code."}, []string{"route", "code"}),
	}
	r := s.cfg.Raft
	cs := []prometheus.Collector{m.commit, m.forwarded, m.leaderChanges, m.diskFull, m.requests,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vela_raft_state", Help: "0 follower, 1 candidate, 2 leader, 3 shutdown."}, func() float64 {
			switch r.Raft().State() {
			case raft.Candidate:
				return 1
			case raft.Leader:
				return 2
			case raft.Shutdown:
				return 3
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vela_raft_applied_index", Help: "Last log index applied to the state here."}, func() float64 { return float64(r.AppliedIndex()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vela_raft_commit_index", Help: "Last committed log index known here."}, func() float64 { return float64(r.Raft().CommitIndex()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	obs := make(chan raft.Observation, 16)
	r.Raft().RegisterObserver(raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	}))
	go func() {
		for range obs {
			m.leaderChanges.Inc()
		}
	}()
	return m, nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (c *codeWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &codeWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		m.requests.WithLabelValues(route, strconv.Itoa(cw.code)).Inc()
	})
}
