variable "region" {
  description = "AWS region of the worker, its subnet and the SSM parameters."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix of every resource (instance, role, security group)."
  type        = string
  default     = "lexprep-gpu-worker"
}

variable "subnet_id" {
  description = "Subnet for the worker. It needs outbound access (NAT gateway or public IP) to the Prefect API, S3 and the package registries."
  type        = string
}

variable "associate_public_ip" {
  description = "Give the instance a public IP (for a public subnet without a NAT gateway). No inbound traffic is allowed either way."
  type        = bool
  default     = false
}

variable "instance_type" {
  description = "GPU instance type (g5.xlarge: one A10G with 24 GB)."
  type        = string
  default     = "g5.xlarge"
}

variable "root_volume_gb" {
  description = "Root volume size in GB (the AMI's CUDA stack, torch and the model cache)."
  type        = number
  default     = 200
}

variable "ami_name_pattern" {
  description = "Name pattern of the AWS Deep Learning AMI to run (newest match, owned by Amazon): NVIDIA driver and CUDA preinstalled."
  type        = string
  default     = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
}

variable "s3_bucket" {
  description = "Bucket holding the matters' files; the worker gets read access to it (s3:ListBucket, s3:GetObject)."
  type        = string
}

variable "s3_prefix" {
  description = "Key prefix within s3_bucket the worker may read (\"\" = the whole bucket)."
  type        = string
  default     = ""
}

variable "prefect_api_url_parameter" {
  description = "Name of the SSM parameter (String or SecureString) holding PREFECT_API_URL, e.g. /lexprep/prefect/api_url."
  type        = string
  default     = "/lexprep/prefect/api_url"
}

variable "prefect_api_key_parameter" {
  description = "Name of the SSM SecureString parameter holding PREFECT_API_KEY (Prefect Cloud or an authenticated server)."
  type        = string
  default     = "/lexprep/prefect/api_key"
}

variable "result_storage" {
  description = "Prefect storage block (slug) the stage flows persist their results to, which the calling run reads: it must be reachable from both (e.g. s3-bucket/lexprep-results). Set as LEXPREP_RESULT_STORAGE on the worker."
  type        = string
  default     = "s3-bucket/lexprep-results"
}

variable "db_url_parameter" {
  description = "Name of the SSM SecureString parameter holding LEXPREP_DB_URL (the store, e.g. Supabase); \"\" = none."
  type        = string
  default     = "/lexprep/db_url"
}

variable "ssm_kms_key_arn" {
  description = "KMS key encrypting the SecureString parameters; null = the AWS-managed aws/ssm key."
  type        = string
  default     = null
}

variable "repo_url" {
  description = "Git URL of the lexprep repository the worker installs (public, or with a deploy token in the URL kept out of version control)."
  type        = string
}

variable "repo_ref" {
  description = "Branch, tag or commit of repo_url to install."
  type        = string
  default     = "main"
}

variable "work_pool" {
  description = "Prefect work pool the worker polls (prefect.yaml's GPU deployments use lexprep-gpu)."
  type        = string
  default     = "lexprep-gpu"
}

variable "lexprep_extras" {
  description = "pip extras installed with lexprep on the worker."
  type        = string
  default     = "gpu,ocr,asr,postgres,s3,aws"
}

variable "torch_index_url" {
  description = "pip index for the CUDA build of torch (match the AMI's CUDA line)."
  type        = string
  default     = "https://download.pytorch.org/whl/cu124"
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
