# A GPU EC2 instance running a Prefect process worker on the lexprep-gpu pool.
#
# - AMI: the newest AWS Deep Learning Base AMI (NVIDIA driver and CUDA preinstalled).
# - IAM: an instance role with read access to the matters' bucket, read access to the three SSM
#   parameters (Prefect API URL and key, the store URL) and Session Manager (no SSH needed).
# - Network: a security group with no inbound rule at all; outbound open (Prefect API, S3, PyPI).
# - Boot: user_data clones and installs lexprep into /opt/lexprep and starts a systemd unit running
#   `prefect worker start --pool lexprep-gpu`, reading PREFECT_API_URL / PREFECT_API_KEY / LEXPREP_DB_URL
#   from SSM at every (re)start, so rotating a key is a `systemctl restart lexprep-worker`.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_subnet" "worker" {
  id = var.subnet_id
}

data "aws_ami" "deep_learning" {
  most_recent = true
  owners      = ["amazon"]

  filter {
    name   = "name"
    values = [var.ami_name_pattern]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "state"
    values = ["available"]
  }
}

locals {
  ssm_parameter_names = compact([var.prefect_api_url_parameter, var.prefect_api_key_parameter, var.db_url_parameter])
  ssm_parameter_arns = [
    for name in local.ssm_parameter_names :
    "arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(name, "/")}"
  ]
  bucket_arn   = "arn:${data.aws_partition.current.partition}:s3:::${var.s3_bucket}"
  object_scope = var.s3_prefix == "" ? "*" : "${trimsuffix(var.s3_prefix, "/")}/*"
}

# ------------------------------------------------------------------------------------------ IAM

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "worker" {
  name               = var.name
  description        = "lexprep GPU worker: read the matters bucket and the worker's SSM parameters"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "ListMattersBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.bucket_arn]

    dynamic "condition" {
      for_each = var.s3_prefix == "" ? [] : [var.s3_prefix]
      content {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${trimsuffix(condition.value, "/")}/*", trimsuffix(condition.value, "/")]
      }
    }
  }

  statement {
    sid       = "ReadMatterFiles"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.bucket_arn}/${local.object_scope}"]
  }

  statement {
    sid       = "ReadWorkerParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = local.ssm_parameter_arns
  }

  dynamic "statement" {
    for_each = var.ssm_kms_key_arn == null ? [] : [var.ssm_kms_key_arn]
    content {
      sid       = "DecryptWorkerParameters"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "${var.name}-access"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}

# Session Manager instead of SSH (the security group allows no inbound traffic)
resource "aws_iam_role_policy_attachment" "ssm_core" {
  role       = aws_iam_role.worker.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "worker" {
  name = var.name
  role = aws_iam_role.worker.name
}

# ------------------------------------------------------------------------------------------ network

resource "aws_security_group" "worker" {
  name        = var.name
  description = "lexprep GPU worker: no inbound traffic; outbound to the Prefect API, S3 and package registries"
  vpc_id      = data.aws_subnet.worker.vpc_id

  egress {
    description      = "all outbound"
    from_port        = 0
    to_port          = 0
    protocol         = "-1"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }
}

# ------------------------------------------------------------------------------------------ instance

resource "aws_instance" "worker" {
  ami                         = data.aws_ami.deep_learning.id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.worker.id]
  iam_instance_profile        = aws_iam_instance_profile.worker.name
  associate_public_ip_address = var.associate_public_ip

  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    region                    = var.region
    repo_url                  = var.repo_url
    repo_ref                  = var.repo_ref
    work_pool                 = var.work_pool
    lexprep_extras            = var.lexprep_extras
    torch_index_url           = var.torch_index_url
    prefect_api_url_parameter = var.prefect_api_url_parameter
    prefect_api_key_parameter = var.prefect_api_key_parameter
    db_url_parameter          = var.db_url_parameter
    result_storage            = var.result_storage
  })
  user_data_replace_on_change = true

  metadata_options {
    http_tokens   = "required" # IMDSv2 only
    http_endpoint = "enabled"
  }

  root_block_device {
    volume_size = var.root_volume_gb
    volume_type = "gp3"
    encrypted   = true
  }

  tags = {
    Name = var.name
  }

  lifecycle {
    # a newer Deep Learning AMI must not replace a running worker on the next apply
    ignore_changes = [ami]
  }
}
