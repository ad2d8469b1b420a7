package debroot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cmd says how Run runs a command.
type Cmd struct {
	Log       *slog.Logger
	What      string            // names the command in errors and logs
	Dir       string            // working directory ("" = current)
	Env       []string          // added to the environment
	OnLine    func(line string) // each line of stdout+stderr (optional)
	OnPercent func(pct int64)   // APT status (fd 3) percentages (optional)
}

// Run runs name with args in its own process group, killed whole when ctx
// ends. A failure's error carries the last lines of output.
func Run(ctx context.Context, c Cmd, name string, args ...string) error {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var statusW *os.File
	statusDone := make(chan struct{})
	if c.OnPercent != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.ExtraFiles = []*os.File{w}
		statusW = w
		go func() {
			defer close(statusDone)
			defer r.Close()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				// pmstatus:PKG:PERCENT:TEXT and dlstatus:PKG:PERCENT:TEXT
				f := strings.SplitN(sc.Text(), ":", 4)
				if len(f) == 4 && (f[0] == "pmstatus" || f[0] == "dlstatus") {
					if p, err := strconv.ParseFloat(f[2], 64); err == nil {
						c.OnPercent(int64(p))
					}
				}
			}
		}()
	} else {
		close(statusDone)
	}
	var tail []string
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sc.Split(scanLinesOrCR)
		for sc.Scan() {
			l := sc.Text()
			if tail = append(tail, l); len(tail) > 25 {
				tail = tail[1:]
			}
			if c.OnLine != nil {
				c.OnLine(l)
			}
			c.Log.Debug(c.What, "out", l)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Start()
	if statusW != nil {
		statusW.Close() // the child holds its own copy
	}
	if err == nil {
		err = cmd.Wait()
	}
	pw.Close()
	<-outDone
	<-statusDone
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", c.What, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s failed (%v); last output:\n  %s", c.What, err, strings.Join(tail, "\n  "))
	}
	return fmt.Errorf("%s: %w", c.What, err)
}

// scanLinesOrCR splits at \n or \r, so progress bars redrawn with \r
// arrive as lines.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
