//! Add-ons the sandbox installs beside the core control plane, as a cluster operator would
//! with their charts: today the sealed-secrets controller.

pub mod sealed_secrets;
