package sockbuf

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Size is the receive buffer asked for: ~4000 small datagrams.
const Size = 4 << 20

// Grow sets conn's receive buffer to Size, beyond net.core.rmem_max when
// the process may (SO_RCVBUFFORCE needs CAP_NET_ADMIN); best effort.
func Grow(conn net.PacketConn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, Size) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, Size)
		}
	})
}
