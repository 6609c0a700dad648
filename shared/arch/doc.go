// Package arch holds the architecture tests: rules about which packages
// may import which (issue 13: the domain imports no AWS). It has no code
// of its own.
package arch
