package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pin/tftp/v3"
)

// clientResult is one simulated machine's outcome.
type clientResult struct {
	Seconds float64 `json:"s"`
	DHCP    float64 `json:"dhcp"` // both exchanges
	TFTP    float64 `json:"tftp"`
	HTTP    float64 `json:"http"` // script, kernel, initramfs, Ignition
	Err     string  `json:"err,omitempty"`
}

// runClients simulates n PXE clients at once (role "client", run inside
// the client namespace) and prints their results as JSON on stdout.
func runClients(n int, iface string) error {
	d, err := newDHCPClients(iface)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res := make([]clientResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			err := bootOne(ctx, d, clientMAC(i), &res[i])
			res[i].Seconds = time.Since(t0).Seconds()
			if err != nil {
				res[i].Err = err.Error()
			}
		}()
	}
	close(start)
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(res)
}

func clientMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x42, 0, 0, byte(i >> 8), byte(i)}
}

// bootOne walks one machine's boot: DHCP as firmware, TFTP the iPXE binary,
// DHCP as iPXE, HTTP script, kernel, initramfs, Ignition config.
func bootOne(ctx context.Context, d *dhcpClients, mac net.HardwareAddr, r *clientResult) error {
	t := time.Now()
	lap := func(p *float64) { *p += time.Since(t).Seconds(); t = time.Now() }
	ack, err := d.dora(ctx, mac, false)
	lap(&r.DHCP)
	if err != nil {
		return fmt.Errorf("firmware dhcp: %w", err)
	}
	if ack.BootFileName == "" {
		return fmt.Errorf("firmware dhcp: no boot file")
	}
	if err := tftpFetch(ack.ServerIPAddr.String(), ack.BootFileName); err != nil {
		return fmt.Errorf("tftp %s: %w", ack.BootFileName, err)
	}
	lap(&r.TFTP)
	ack, err = d.dora(ctx, mac, true)
	lap(&r.DHCP)
	if err != nil {
		return fmt.Errorf("ipxe dhcp: %w", err)
	}
	script := ack.BootFileName
	if !strings.HasPrefix(script, "http://") {
		return fmt.Errorf("ipxe dhcp: boot file %q is not a URL", script)
	}
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: ack.YourIPAddr}}).DialContext,
	}}
	defer hc.CloseIdleConnections()
	body, err := get(ctx, hc, script, true)
	if err != nil {
		return err
	}
	kernel, initrd, ign := parseScript(string(body))
	if kernel == "" || initrd == "" || ign == "" {
		return fmt.Errorf("script without kernel, initrd or ignition URL:\n%s", body)
	}
	for _, u := range []string{kernel, initrd, ign} {
		if _, err := get(ctx, hc, u, u == ign); err != nil {
			return err
		}
	}
	lap(&r.HTTP)
	return nil
}

func get(ctx context.Context, hc *http.Client, url string, keep bool) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if keep {
		return io.ReadAll(resp.Body)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return nil, err
}

// parseScript finds the kernel and initrd URLs and ignition.config.url in an
// iPXE script (vela's or the reference's static one).
func parseScript(s string) (kernel, initrd, ign string) {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		urls := []string{}
		for _, w := range f[1:] {
			if strings.HasPrefix(w, "http://") {
				urls = append(urls, w)
			}
			if v, ok := strings.CutPrefix(w, "ignition.config.url="); ok {
				ign = v
			}
		}
		switch {
		case f[0] == "kernel" && len(urls) > 0:
			kernel = urls[0]
		case f[0] == "initrd" && len(urls) > 0:
			initrd = urls[0]
		}
	}
	return
}

func tftpFetch(server, file string) error {
	c, err := tftp.NewClient(net.JoinHostPort(server, "69"))
	if err != nil {
		return err
	}
	c.SetBlockSize(1468)
	c.SetTimeout(2 * time.Second)
	c.SetRetries(5)
	wt, err := c.Receive(file, "octet")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(io.Discard)
	return err
}

// summary of one run.
type summary struct {
	N        int
	Total    float64 // s, first client start to last client end (~max)
	P50, P99 float64
	// medians of the phases, over successful clients
	DHCP50, TFTP50, HTTP50 float64
	Failures               int
	FirstErr               string
}

func summarize(res []clientResult) summary {
	s := summary{N: len(res)}
	var times, dhcp, tftp, http []float64
	for _, r := range res {
		if r.Err != "" {
			s.Failures++
			if s.FirstErr == "" {
				s.FirstErr = r.Err
			}
			continue
		}
		times = append(times, r.Seconds)
		dhcp, tftp, http = append(dhcp, r.DHCP), append(tftp, r.TFTP), append(http, r.HTTP)
	}
	s.DHCP50, s.TFTP50, s.HTTP50 = median(dhcp), median(tftp), median(http)
	sort.Float64s(times)
	if len(times) > 0 {
		s.Total = times[len(times)-1]
		s.P50 = times[len(times)/2]
		s.P99 = times[min(len(times)-1, len(times)*99/100)]
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}
