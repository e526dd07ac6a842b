//go:build tools

// Package tools pins the MinIO server for lakefs-wap's S3 test bed. Nothing
// here is compiled into a program of ours: the file only makes `go mod tidy`
// keep github.com/minio/minio in the module graph, so that
// `go build github.com/minio/minio` resolves against go.mod and go.sum.
package tools

import _ "github.com/minio/minio"
