// Package httpboot is Vela's HTTP boot server: per-machine iPXE scripts,
// the kernel, initramfs and rootfs of each image (Range requests, sendfile),
// each machine's pre-rendered Ignition config (only with that machine's boot
// token), the vela binary, boot reports and Prometheus metrics. It renders
// nothing per request beyond the iPXE script; Ignition configs are files made
// ahead of time by package ignition. Boot tokens are generated and kept here.
package httpboot
