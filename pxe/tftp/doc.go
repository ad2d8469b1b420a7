// Package tftp is Vela's read-only TFTP server for the iPXE binaries that
// firmware PXE fetches. It serves one directory through os.Root (no "..", no
// absolute names, no backslashes, no NUL, no symlink escape), refuses every
// write, negotiates blksize, sends a window of blocks ahead (pin/tftp's
// SetAnticipate), bounds concurrent transfers and times out abandoned ones.
// It knows nothing about machines; callers learn about transfers through the
// Config.Observe hook.
package tftp
