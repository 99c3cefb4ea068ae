module todo-kube/tests/vectors/gocheck

go 1.24

require (
	github.com/bitnami-labs/sealed-secrets v0.27.1
	k8s.io/apimachinery v0.33.1
)
