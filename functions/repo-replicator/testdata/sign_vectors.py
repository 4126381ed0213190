"""Test vectors for the CodeCommit git password, computed with botocore's SigV4 signer.

The password is what git-remote-codecommit builds: a `GIT` request for the repository path
on the git host, signed for the service `codecommit`; the username is the access key, with
`%` and the session token when there is one. Run with a Python that has botocore:

    python3 sign_vectors.py > sign_vectors.json
"""

import json

import botocore.auth
import botocore.awsrequest
import botocore.credentials

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/with+odd=chars%"

CASES = [
    ("standard", "us-east-1", "git-codecommit.us-east-1.amazonaws.com", "my-repo", None),
    ("standard-with-token", "eu-west-2", "git-codecommit.eu-west-2.amazonaws.com", "team/app.service", TOKEN),
    ("fips", "us-west-2", "git-codecommit-fips.us-west-2.amazonaws.com", "payments", None),
    ("fips-with-token", "us-gov-west-1", "git-codecommit-fips.us-gov-west-1.amazonaws.com", "payments", TOKEN),
    ("vpc-endpoint", "eu-central-1",
     "vpce-0b7d2995e35364f9e-pm9q4h2g.git-codecommit.eu-central-1.vpce.amazonaws.com", "infra_repo-1", None),
    ("vpc-endpoint-with-token", "ap-southeast-2",
     "vpce-0123456789abcdef0-abcdefgh.git-codecommit.ap-southeast-2.vpce.amazonaws.com", "infra", TOKEN),
    ("china", "cn-north-1", "git-codecommit.cn-north-1.amazonaws.com.cn", "repo", TOKEN),
]
TIMESTAMPS = ["20261123T004800", "20240229T235959"]


def password(host, path, region, creds, timestamp):
    request = botocore.awsrequest.AWSRequest(method="GIT", url="https://%s%s" % (host, path))
    request.context["timestamp"] = timestamp
    signer = botocore.auth.SigV4Auth(creds, "codecommit", region)
    canonical = "GIT\n%s\n\nhost:%s\n\nhost\n" % (path, host)
    sts = signer.string_to_sign(request, canonical)
    return "%sZ%s" % (timestamp, signer.signature(sts, request))


vectors = []
for name, region, host, repo, token in CASES:
    creds = botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY, token)
    for ts in TIMESTAMPS:
        path = "/v1/repos/%s" % repo
        vectors.append({
            "name": name,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "session_token": token,
            "region": region,
            "host": host,
            "path": path,
            "timestamp": ts,
            "username": ACCESS_KEY + ("%" + token if token else ""),
            "password": password(host, path, region, creds, ts),
        })
print(json.dumps({"generator": "botocore " + botocore.__version__, "vectors": vectors}, indent=2))
