package sophon.hadoop;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.util.Objects;
import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.net.NetUtils;
import org.apache.hadoop.net.StandardSocketFactory;

/**
 * Hadoop RPC socket factory whose client sockets leave from the address in
 * {@value #BIND_ADDRESS}. A NameNode knows a DataNode by the address its RPC connection comes
 * from, so on a host with several addresses that must be the DataNode's own one; Sophon sets it
 * to the instance's address. An address that is not one of this host's (a configuration copied
 * to another host) is ignored, and the kernel picks the source as usual.
 */
public class LocalAddressSocketFactory extends StandardSocketFactory implements Configurable {
  public static final String BIND_ADDRESS = "sophon.ipc.client.bind-address";

  private Configuration conf;
  private InetAddress local;

  @Override
  public void setConf(Configuration conf) {
    this.conf = conf;
    String address = conf.getTrimmed(BIND_ADDRESS, "");
    local = null;
    if (address.isEmpty()) return;
    try {
      InetAddress candidate = InetAddress.getByName(address);
      if (NetUtils.isLocalAddress(candidate)) local = candidate;
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(BIND_ADDRESS + ": unknown address " + address, e);
    }
  }

  @Override
  public Configuration getConf() {
    return conf;
  }

  @Override
  public Socket createSocket() throws IOException {
    Socket socket = super.createSocket();
    if (local != null) socket.bind(new InetSocketAddress(local, 0));
    return socket;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof LocalAddressSocketFactory && Objects.equals(local, ((LocalAddressSocketFactory) other).local);
  }

  @Override
  public int hashCode() {
    return Objects.hash(getClass(), local);
  }
}
