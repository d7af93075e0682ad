output "instance_id" {
  description = "ID of the GPU worker instance (connect with: aws ssm start-session --target <id>)."
  value       = aws_instance.worker.id
}

output "private_ip" {
  description = "Private IP of the worker."
  value       = aws_instance.worker.private_ip
}

output "ami_id" {
  description = "Deep Learning AMI the worker was launched from."
  value       = aws_instance.worker.ami
}

output "ami_name" {
  description = "Name of the newest matching Deep Learning AMI."
  value       = data.aws_ami.deep_learning.name
}

output "security_group_id" {
  description = "Security group of the worker (no inbound rules)."
  value       = aws_security_group.worker.id
}

output "iam_role_arn" {
  description = "Instance role of the worker."
  value       = aws_iam_role.worker.arn
}

output "work_pool" {
  description = "Prefect work pool the worker polls."
  value       = var.work_pool
}
