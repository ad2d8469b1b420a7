package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
)

// BenchmarkPutMachineParallel measures small writes through the API of a
// single member (real Raft, on-disk WAL, TLS) with parallel clients.
func BenchmarkPutMachineParallel(b *testing.B) {
	tc := newCluster(b, 1, nil)
	m := tc.members[0]
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(tc.pool, nil), MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v1/machines/b-%d", m.http.URL, i%1000), bytes.NewReader([]byte(`{"labels":{"v":"0123456789012345678901234567890123456789"}}`)))
			req.Header.Set("Authorization", "Bearer "+tc.admin)
			res, err := cl.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body) // drained: the connection is reused
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("HTTP %d", res.StatusCode)
				return
			}
		}
	})
}
