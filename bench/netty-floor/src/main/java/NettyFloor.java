import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpServerCodec;

import java.net.InetSocketAddress;

/**
 * The floor of an HTTP relay on Netty (epoll event loops), to set beside bench/run's floor path (Jetty since issue 13, Helidon before). Each
 * client connection gets its own upstream connection on the same event loop. Requests and answers are decoded and
 * encoded again by Netty's HTTP codecs, as any gateway must frame them, and relayed, flushed once per read burst.
 * Nothing else: no auth, routing, body parsing, metering or logs.
 *
 * <p>{@code NettyFloor UPSTREAM_PORT THREADS}; prints {@code floor-proxy listening on PORT}.
 */
public final class NettyFloor {

    public static void main(String[] args) throws InterruptedException {
        int upstreamPort = Integer.parseInt(args[0]);
        EventLoopGroup loops = new EpollEventLoopGroup(Integer.parseInt(args[1]));
        Channel server = new ServerBootstrap().group(loops).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)   // until its upstream connection is there
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel in) {
                        in.pipeline().addLast(new HttpServerCodec(), new Front(upstreamPort));
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        System.out.println("floor-proxy listening on " + ((InetSocketAddress) server.localAddress()).getPort());
        System.out.flush();
        server.closeFuture().sync();
    }

    /** Writes what its channel reads to the other channel, and flushes once its channel has read all it could. */
    static class Relay extends ChannelInboundHandlerAdapter {
        Channel other;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) { other.write(msg); }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) { other.flush(); }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (other != null) other.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) { ctx.close(); }
    }

    /** The client's side: opens the upstream connection, then starts reading. */
    static final class Front extends Relay {
        private final int upstreamPort;

        Front(int upstreamPort) { this.upstreamPort = upstreamPort; }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel in = ctx.channel();
            Relay back = new Relay();
            back.other = in;
            new Bootstrap().group(in.eventLoop()).channel(EpollSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel out) {
                            out.pipeline().addLast(new HttpClientCodec(), back);
                        }
                    })
                    .connect("127.0.0.1", upstreamPort)
                    .addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            in.close();
                            return;
                        }
                        other = f.channel();
                        in.config().setAutoRead(true);
                    });
        }
    }
}
