# See COPYING for copyright and license details.
# consul-template on every host: renders haproxy.cfg from the Consul
# catalog (the services marathon-registrator registers for each task) and
# reloads HAProxy through haproxy-reload, which checks the new file first,
# reloads through the master socket and confirms a new worker took over.
consul {
  address = "127.0.0.1:8500"
}

# Wait for the catalog to settle: a rolling restart changes it several
# times within seconds.
wait {
  min = "2s"
  max = "10s"
}

template {
  source      = "/etc/haproxy/haproxy.cfg.ctmpl"
  destination = "/etc/haproxy/haproxy.cfg"
  perms       = 0644
  # The list form is exec'd without a shell.
  command     = ["haproxy-reload", "-f", "/etc/haproxy/haproxy.cfg", "-m", "master", "-S", "/run/haproxy-master.sock"]
  command_timeout = "30s"
}
