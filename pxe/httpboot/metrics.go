package httpboot

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	bytes    *prometheus.CounterVec
}

func newMetrics() metrics {
	return metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vela_pxe_http_requests_total", Help: "HTTP boot requests by route and status code."}, []string{"route", "code"}),
		errors:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vela_pxe_http_errors_total", Help: "HTTP boot requests answered with a 4xx or 5xx, by route."}, []string{"route"}),
		bytes:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vela_pxe_http_bytes_total", Help: "HTTP boot response body bytes, by route."}, []string{"route"}),
	}
}

func (m metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.errors, m.bytes} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// recorder wraps a ResponseWriter to learn the status, the bytes and the
// machine a handler served, keeping sendfile through ReadFrom.
type recorder struct {
	http.ResponseWriter
	code    int
	bytes   int64
	machine string
	mac     string
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the kernel's sendfile path for file bodies.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// wrap logs every request with the machine it served and counts it.
func (s *Server) wrap(route string, h func(w *recorder, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		h(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		s.m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		s.m.bytes.WithLabelValues(route).Add(float64(rec.bytes))
		level := slog.LevelInfo
		if rec.code >= 400 {
			s.m.errors.WithLabelValues(route).Inc()
			level = slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "http request", "route", route, "method", r.Method, "path", r.URL.Path,
			"remote", r.RemoteAddr, "machine", rec.machine, "mac", rec.mac, "code", rec.code, "bytes", rec.bytes,
			"duration", time.Since(start))
	}
}
