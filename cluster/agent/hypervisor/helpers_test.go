package hypervisor_test

import (
	"net"
	"strings"
)

// listenSilent accepts connections on a Unix socket and never answers.
func listenSilent(path string) (net.Listener, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	go func() {
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	return l, nil
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
