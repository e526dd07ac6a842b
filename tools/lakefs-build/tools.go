//go:build tools

// Package tools pins the lakeFS server for lakefs-wap's test bed and demo.
// Nothing here is compiled into a program of ours: the file only makes
// `go mod tidy` keep github.com/treeverse/lakefs/cmd/lakefs in the module
// graph, so that `go build github.com/treeverse/lakefs/cmd/lakefs` resolves
// against the versions pinned in go.mod and go.sum.
package tools

import _ "github.com/treeverse/lakefs/cmd/lakefs"
