// Command sumdbserver is a checksum database for tests, built by
// tests/sumdbserver.ts against the go command's own copy of
// golang.org/x/mod/sumdb: it signs a tree of the go.sum lines it is given
// with a fresh key and serves it under /sumdb/<name>/ as a proxy does.
//
// Usage: sumdbserver <name> <go.sum file>. It prints "<verifier key> <url>"
// on one line once it listens.
package main

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "sumdbserver:", err)
		os.Exit(1)
	}
}

func run(name, goSumFile string) error {
	signer, verifier, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(goSumFile)
	if err != nil {
		return err
	}
	// "path version h1:…" and "path version/go.mod h1:…" make one record.
	records := map[string][]byte{}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		key := fields[0] + "@" + strings.TrimSuffix(fields[1], "/go.mod")
		records[key] = append(records[key], line...)
	}
	gosum := func(path, version string) ([]byte, error) {
		if record, ok := records[path+"@"+version]; ok {
			return record, nil
		}
		return nil, os.ErrNotExist
	}
	prefix := "/sumdb/" + name
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, sumdb.NewServer(sumdb.NewTestServer(signer, gosum))))
	mux.HandleFunc(prefix+"/supported", func(http.ResponseWriter, *http.Request) {})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("%s http://%s\n", verifier, listener.Addr())
	return http.Serve(listener, mux)
}
