//! deploy-hook against an HTTPS listener: the certificate is verified against the configured
//! host name, which the hook sends as SNI while connecting to the load balancer's address.
//!
//! The green service is `openssl s_server` with a certificate for `shop.example.com` issued by a
//! throw-away CA. The function trusts that CA only where the test says so (`SSL_CERT_FILE`, read
//! by the platform verifier on Linux); everywhere else the system roots apply.

mod deploy_hook_fixture;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2 as elbv2;
use codehooks_tests::LocalAws;
use deploy_hook_fixture::*;
use serde_json::json;

const NAME: &str = "deploy-hook";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for shop.example.com, in a fresh directory.
fn certificates() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("codehooks-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=codehooks test CA",
    ];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&dir, &ca);
    let mut csr = vec![
        "req",
        "-subj",
        "/CN=shop.example.com",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ];
    csr.extend(ec);
    openssl(&dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:shop.example.com\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
    dir
}

/// `openssl s_server -www` on a free port: answers `GET /` with 200 and a status page.
struct TlsService {
    port: u16,
    child: Child,
}

impl TlsService {
    fn start(dir: &Path) -> TlsService {
        let port = closed_port();
        let child = Command::new("openssl")
            .current_dir(dir)
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-cert",
                "server.pem",
                "-key",
                "server.key",
                "-accept",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let end = Instant::now() + Duration::from_secs(10);
        while !codehooks_tests::port_open(&format!("127.0.0.1:{port}")) {
            assert!(Instant::now() < end, "s_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsService { port, child }
    }
}

impl Drop for TlsService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_listeners_are_probed_with_the_configured_name_and_verified() {
    let dir = certificates();
    let tls = TlsService::start(&dir);
    let blue = Service::start(Mode::Healthy, OLD_VERSION);
    let local = LocalAws::builder()
        .moto()
        .emulator()
        .runtime_api(NAME)
        .start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let elb = elbv2::Client::new(&sdk);
    let subnets = default_subnets(local.moto_url());
    let policy = json!({
        "default": {"requests": 4, "concurrency": 1, "timeoutMs": 3000, "warmupMs": 0, "maxP95Ms": 3000},
        "deploymentGroups": {
            "right-name": {"default": {"hostName": "shop.example.com"}},
            "wrong-name": {"default": {"hostName": "other.example.com"}}
        }
    })
    .to_string();
    let ca = dir.join("ca.pem");
    let ca = ca.to_str().expect("utf-8 path");
    let base = [
        ("CODEHOOKS_HOOK_BASE_URL", "https://127.0.0.1:{port}"),
        ("CODEHOOKS_HOOK_POLICY", policy.as_str()),
        ("CODEHOOKS_HOOK_REPORT_MARGIN_MS", "500"),
    ];
    let mut trusting = base.to_vec();
    trusting.push(("SSL_CERT_FILE", ca));
    let f = local.function(NAME, REGION, &trusting);

    for (id, group, expect) in [
        ("d-TLSCHECK1", "right-name", "Succeeded"),
        ("d-TLSCHECK2", "wrong-name", "Failed"),
    ] {
        let stack = Stack::create(
            &elb,
            &subnets,
            StackSpec {
                https: true,
                ..StackSpec::new(&id.to_lowercase(), blue.port, tls.port)
            },
        )
        .await;
        seed_deployment(
            &local,
            &stack,
            DeploymentSpec {
                id,
                hook_execution_id: "hook-exec-1",
                group,
                running: "AfterAllowTestTraffic",
                green_desired: 2,
                ecs: true,
                green_task_set: true,
                shifted: false,
            },
        );
        let inv = f.invoke(&payload(id, "hook-exec-1"), 30_000);
        assert!(inv.is_ok(), "{inv:?}\n{}", f.logs());
        assert_eq!(
            inv.response["decision"], expect,
            "{group}: {:#}",
            inv.response
        );
        assert_eq!(inv.response["listener"]["protocol"], "HTTPS");
        if expect == "Succeeded" {
            assert_eq!(
                inv.response["url"],
                format!("https://shop.example.com:{}/", tls.port)
            );
            assert_eq!(inv.response["connectTo"], format!("127.0.0.1:{}", tls.port));
            assert_eq!(inv.response["probes"][0]["succeeded"], 4);
        } else {
            let samples = inv.response["probes"][0]["samples"].to_string();
            assert!(
                samples.contains("certificate") || samples.contains("NotValidForName"),
                "{samples}"
            );
        }
    }
    drop(f);

    // The same right name, but the function trusts only the system roots: the throw-away CA is
    // not one of them, so the probes fail. Verification is never switched off.
    let g = local.function(NAME, REGION, &base);
    let stack = Stack::create(
        &elb,
        &subnets,
        StackSpec {
            https: true,
            ..StackSpec::new("untrusted", blue.port, tls.port)
        },
    )
    .await;
    seed_deployment(
        &local,
        &stack,
        DeploymentSpec {
            id: "d-TLSCHECK3",
            hook_execution_id: "hook-exec-1",
            group: "right-name",
            running: "AfterAllowTestTraffic",
            green_desired: 2,
            ecs: true,
            green_task_set: true,
            shifted: false,
        },
    );
    let inv = g.invoke(&payload("d-TLSCHECK3", "hook-exec-1"), 30_000);
    assert!(inv.is_ok(), "{inv:?}");
    assert_eq!(inv.response["decision"], "Failed", "{:#}", inv.response);
    let samples = inv.response["probes"][0]["samples"].to_string();
    assert!(
        samples.contains("certificate") || samples.contains("UnknownIssuer"),
        "{samples}"
    );
    assert_eq!(blue.hits(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
