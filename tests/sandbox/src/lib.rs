//! todo-sandbox: a Kubernetes-API-compatible server with simulated controllers.
