//go:build benchnoaccess

package server

// A benchmark baseline binary: every call acts as the bootstrap authority, nothing is
// recorded. Never built by make build or make image.
func init() { accessControl = false }
