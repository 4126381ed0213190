"""How the emulator reaches the services beside it: Amazon ECS (`ecs.py`) and CodePipeline job
answers (`pipeline_jobs.py`), JSON 1.1 through the emulator's own `OPERATIONS`; AWS Lambda
Invoke (`lambda_invoke.py`, REST-JSON) and Amazon CloudWatch (`cloudwatch.py`, Smithy RPC v2 CBOR).

`serve` runs one request of a protocol other than JSON 1.1 the way `Emulator.call` runs the
others: SigV4 credential scope check, the request log (`target` = `Lambda.Invoke`,
`CloudWatch.GetMetricData`, ...), armed faults by that name (or the bare operation name), then
the service's handler under the emulator's lock; errors are answered in the service's protocol.
"""

import json
import sys
import threading
import traceback
import uuid

import cloudwatch
import cloudwatch_moto
import ecs
import emulator
import faultproxy
import lambda_invoke
import pipeline_jobs

# moto and the CloudWatch model load in the background, not in the first request.
threading.Thread(target=cloudwatch_moto.warm, name="cloudwatch-warm", daemon=True).start()


def init_region(st):
    st.ecs = ecs.State()
    st.functions = {}   # functionName -> seeded function (lambda_invoke)
    st.cloudwatch = cloudwatch_moto.backend(st.name)  # moto's CloudWatch (cloudwatch.py)
    pipeline_jobs.init_region(st)  # st.jobs: CodePipeline jobs of Lambda actions


def seed(st, spec):
    ecs.seed(st, spec.get("ecs"))
    lambda_invoke.seed(st, spec.get("lambda"))
    cloudwatch.seed(st, spec.get("cloudwatch"))
    pipeline_jobs.seed(st, spec.get("codepipeline"))


def dump(st):
    return {"ecs": {"serviceRevisions": list(st.ecs.revisions.values()),
                    "serviceDeployments": list(st.ecs.deployments.values()),
                    "services": list(st.ecs.services.values()), "clusters": sorted(st.ecs.clusters)},
            "lambda": {"functions": list(st.functions.values())},
            "cloudwatch": {"metrics": cloudwatch.dump(st), "alarms": cloudwatch.dump_alarms(st)},
            "codepipeline": {"jobs": pipeline_jobs.dump(st)}}


def control(emu, method, name, q, body):
    """Answers the control requests of these services (None when `name` is not one of them)."""
    if (method, name) == ("GET", "invocations"):
        fn = q.get("function")
        return [i for i in emu.invocations if fn is None or i["functionName"] == fn]
    return pipeline_jobs.control(emu, method, name, q, body)


def route(handler, url, raw):
    """Serves the request if it belongs to Lambda or CloudWatch; False otherwise."""
    if handler.command == "POST" and url.path.startswith(lambda_invoke.PATH_PREFIX):
        lambda_invoke.serve(handler, url, raw)
        return True
    if url.path.startswith(cloudwatch.PATH_PREFIX):
        cloudwatch.serve(handler, url, raw)
        return True
    return False


class Answer:
    def __init__(self, status, body=b"", content_type="application/json", headers=None):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = dict(headers or {})


def serve(handler, target, service, parsed, run, error_answer):
    """Runs `run(emu, caller, record) -> Answer` for one AWS request named `target` (signed
    for `service`); an AwsError becomes `error_answer(AwsError) -> Answer`."""
    emu = handler.server.emulator
    record = {"target": target, "service": service, "operation": target.split(".", 1)[1], "region": None,
              "accessKeyId": None, "body": parsed, "status": None}
    with emu.lock:
        emu.requests.append(record)
    try:
        caller = emu.authenticate(handler.headers, service, record)
        emu.inject_faults(target)
        decision = emu.plan.decide(target, handler.headers.get("User-Agent", ""))
        if decision.reset:
            raise emulator.ResetConnection()
        if decision.error:
            emu.raise_fault(decision.error)
        answer = run(emu, caller, record)
        if decision.reset_after:
            raise emulator.ResetConnection()
    except emulator.ResetConnection:
        record["status"] = "reset"
        faultproxy.reset_connection(handler)
        return
    except emulator.AwsError as e:
        answer = error_answer(e)
    except Exception as e:  # noqa: BLE001 - a bug here must answer, not drop the connection
        traceback.print_exc(file=sys.stderr)
        answer = error_answer(emulator.AwsError("InternalFailure", f"emulator bug: {e}", 500))
    record["status"] = answer.status
    answer.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    handler.send_bytes(answer.status, answer.body, answer.content_type, answer.headers)


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()
