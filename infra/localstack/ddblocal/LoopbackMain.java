package tokenim.ddblocal;

import com.amazonaws.services.dynamodbv2.local.main.CommandLineInput;
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Entry point for DynamoDB Local that binds to a loopback address only.
 *
 * DynamoDB Local's own ServerRunner has no host option and binds 0.0.0.0. This builds the server
 * the same way (same command line), sets the Jetty connector host (system property
 * tokenim.ddb.host, default 127.0.0.1) and starts it. Telemetry is never configured, so none is
 * sent.
 */
public final class LoopbackMain {
  private LoopbackMain() {}

  public static void main(String[] args) throws Exception {
    String host = System.getProperty("tokenim.ddb.host", "127.0.0.1");
    CommandLineInput input = new CommandLineInput(args);
    if (!input.init()) {
      return; // -help / -version were handled, or the arguments were invalid
    }
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector c : server.getConnectors()) {
      if (c instanceof ServerConnector) {
        ((ServerConnector) c).setHost(host);
      }
    }
    proxy.start();
  }
}
