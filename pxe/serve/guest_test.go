package serve

import (
	"os"
	"testing"

	"github.com/vela-appliance/vela/pxe/pxetest"
)

func buildGuest(t *testing.T, kernelPath, dir string) string {
	return pxetest.BuildGuest(t, kernelPath, dir)
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	pxetest.WriteFile(t, path, content, mode)
}
