package fcos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
)

// Download fetches the stream metadata at streamURL and its PXE artifacts
// into downloadDir (resuming partial files left by an interrupted run),
// checks each sha256 and imports the release into the store. Completed
// downloads are removed once imported.
func (im *Importer) Download(ctx context.Context, client *http.Client, streamURL, downloadDir string) (store.Manifest, error) {
	if client == nil {
		client = http.DefaultClient
	}
	b, err := getSmall(ctx, client, streamURL)
	if err != nil {
		return store.Manifest{}, fmt.Errorf("download fcos stream metadata %s: %w", streamURL, err)
	}
	pxe, err := ParseStream(b, im.cfg.Arch)
	if err != nil {
		return store.Manifest{}, fmt.Errorf("download fcos %s: %w", streamURL, err)
	}
	dir := filepath.Join(downloadDir, "fcos", pxe.Release)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return store.Manifest{}, err
	}
	for _, f := range pxe.Files {
		dst := filepath.Join(dir, f.Base)
		if err := im.fetch(ctx, client, f, dst); err != nil {
			return store.Manifest{}, err
		}
	}
	m, err := im.commit(ctx, pxe, func(f File) string { return filepath.Join(dir, f.Base) },
		fmt.Sprintf("Fedora CoreOS %s %s, downloaded from %s", pxe.Stream, pxe.Release, streamURL))
	if err != nil {
		return store.Manifest{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		im.cfg.Logger.Warn("remove downloaded files", "dir", dir, "err", err)
	}
	return m, nil
}

// fetch downloads f to dst through dst.part, resuming with a Range request,
// and checks the sha256; a mismatch removes the partial file.
func (im *Importer) fetch(ctx context.Context, client *http.Client, f File, dst string) error {
	if sum, _, err := store.HashFile(ctx, dst, nil); err == nil && sum == f.SHA256 {
		return nil // done by an earlier run
	}
	part := dst + ".part"
	var off int64
	if info, err := os.Stat(part); err == nil {
		off = info.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.Location, nil)
	if err != nil {
		return err
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("download fcos %s from %s: %w; run the same command again to resume", f.Name, f.Location, err)
	}
	defer resp.Body.Close()
	flags := os.O_CREATE | os.O_WRONLY
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		flags |= os.O_APPEND
		im.cfg.Logger.Info("resuming download", "file", f.Base, "offset", off)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		// The partial file is already whole; the hash below decides.
		resp.Body.Close()
		return im.finish(ctx, f, part, dst)
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC
		off = 0
	default:
		return fmt.Errorf("download fcos %s from %s: HTTP %s", f.Name, f.Location, resp.Status)
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	total := int64(0)
	if resp.ContentLength >= 0 {
		total = off + resp.ContentLength
	}
	pw := &progressWriter{w: out, n: off, report: func(n int64) {
		im.cfg.Progress.Report(images.Progress{Image: images.FCOS, Step: "download " + f.Name, Done: n, Total: total, Unit: "bytes"})
	}}
	_, err = io.Copy(pw, resp.Body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download fcos %s from %s interrupted at %d bytes: %w; run the same command again to resume", f.Name, f.Location, pw.n, err)
	}
	return im.finish(ctx, f, part, dst)
}

func (im *Importer) finish(ctx context.Context, f File, part, dst string) error {
	sum, _, err := store.HashFile(ctx, part, nil)
	if err != nil {
		return err
	}
	if sum != f.SHA256 {
		os.Remove(part)
		return fmt.Errorf("download fcos %s from %s: sha256 %s does not match the stream's %s; the partial file was removed, run again to download it afresh", f.Name, f.Location, sum, f.SHA256)
	}
	return os.Rename(part, dst)
}

func getSmall(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

type progressWriter struct {
	w      io.Writer
	n      int64
	report func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	k, err := p.w.Write(b)
	p.n += int64(k)
	p.report(p.n)
	return k, err
}
