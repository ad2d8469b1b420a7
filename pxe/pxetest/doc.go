// Package pxetest holds hand-written fakes of the pxe seams for the tests of
// the pxe sub-packages. Nothing in the product imports it.
package pxetest
