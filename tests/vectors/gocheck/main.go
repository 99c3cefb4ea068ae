// Command gocheck checks tests/vectors against the Go code Kubernetes and the sealed-secrets
// controller run: quantities.json against apimachinery's resource.ParseQuantity, and
// sealed-secrets.json against the controller's crypto.HybridDecrypt (after Go's
// base64.StdEncoding, as the controller decodes encryptedData).
//
//	cd tests/vectors/gocheck && go mod tidy && go run . ..
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/apimachinery/pkg/api/resource"
)

type quantity struct {
	Text  string   `json:"text"`
	Value *float64 `json:"value"`
}

type sealed struct {
	Why          string `json:"why"`
	Scope        string `json:"scope"`
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	PlaintextB64 string `json:"plaintext_b64"`
	Ciphertext   string `json:"ciphertext"`
}

func read(dir, name string, v interface{}) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
}

func checkQuantities(dir string) int {
	var vs []quantity
	read(dir, "quantities.json", &vs)
	bad := 0
	for _, v := range vs {
		q, err := resource.ParseQuantity(v.Text)
		switch {
		case v.Value == nil && err == nil:
			fmt.Printf("quantity %q: parses as %v, the vector says invalid\n", v.Text, q.AsApproximateFloat64())
			bad++
		case v.Value != nil && err != nil:
			fmt.Printf("quantity %q: %v, the vector says %v\n", v.Text, err, *v.Value)
			bad++
		case v.Value != nil:
			got := q.AsApproximateFloat64()
			if math.Abs(got-*v.Value) > 1e-9*math.Max(1e-9, math.Abs(*v.Value)) {
				fmt.Printf("quantity %q: %v, the vector says %v\n", v.Text, got, *v.Value)
				bad++
			}
		}
	}
	fmt.Printf("quantities.json: %d vectors\n", len(vs))
	return bad
}

func label(e sealed) []byte {
	switch e.Scope {
	case "cluster-wide":
		return []byte{}
	case "namespace-wide":
		return []byte(e.Namespace)
	}
	return []byte(e.Namespace + "/" + e.Name)
}

func checkSealed(dir string) int {
	var doc struct {
		PrivateKeyPEM string   `json:"private_key_pem"`
		Entries       []sealed `json:"entries"`
		Negative      []sealed `json:"negative"`
	}
	read(dir, "sealed-secrets.json", &doc)
	block, _ := pem.Decode([]byte(doc.PrivateKeyPEM))
	if block == nil {
		fmt.Println("sealed-secrets.json: private_key_pem is not PEM")
		return 1
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		fmt.Println("sealed-secrets.json:", err)
		return 1
	}
	keys := map[string]*rsa.PrivateKey{"test": key.(*rsa.PrivateKey)}
	unseal := func(e sealed) ([]byte, error) {
		data, err := base64.StdEncoding.DecodeString(e.Ciphertext)
		if err != nil {
			return nil, err
		}
		return crypto.HybridDecrypt(rand.Reader, keys, data, label(e))
	}
	bad := 0
	for _, e := range doc.Entries {
		plain, err := unseal(e)
		if err != nil || base64.StdEncoding.EncodeToString(plain) != e.PlaintextB64 {
			fmt.Printf("entry %s (%s): does not unseal to its plaintext: %v\n", e.Key, e.Scope, err)
			bad++
		}
	}
	for _, e := range doc.Negative {
		if _, err := unseal(e); err == nil {
			fmt.Printf("negative entry %q unseals\n", e.Why)
			bad++
		}
	}
	fmt.Printf("sealed-secrets.json: %d entries, %d negative\n", len(doc.Entries), len(doc.Negative))
	return bad
}

func main() {
	dir := ".."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	bad := checkQuantities(dir) + checkSealed(dir)
	fmt.Printf("%d mismatches\n", bad)
	if bad > 0 {
		os.Exit(1)
	}
}
