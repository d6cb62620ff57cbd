"""Prints template.yaml as CloudFormation receives it after SAM's transform (JSON), so that
the template tests can check what SAM makes of it (the stages, for one) rather than what it
says. Runs offline with the aws-sam-cli of the project's virtual environment.

usage: python tests/sam_transform.py TEMPLATE  (AWS_DEFAULT_REGION set to any region)
"""

import json
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template names no managed policy by name, so no IAM lookup is needed."""

    def load(self):
        return {}


def main(path):
    with open(path, encoding="utf-8") as file:
        template = yaml_parse(file.read())
    # As `sam package` leaves it: the code in S3, which the transform insists on.
    template["Globals"]["Function"]["CodeUri"] = "s3://packaged/code.zip"
    try:
        transformed = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        sys.exit("; ".join(str(cause) for cause in e.causes))
    json.dump(transformed, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
